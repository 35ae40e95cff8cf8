"""The analyst views and macros over the table views, as DuckDB SQL that 1.4 and 2.x both run.

Dates of status events are effective_date, the day the status took effect (a DATE, so results
do not depend on the analyst's TimeZone); recorded_at, the commit time, is shown beside it.
"""
from __future__ import annotations

# (name, comment, body), in an order where each view only uses the ones before it.
ANALYST_VIEWS = [
    ("last_changes",
     "Per statement, the day its status last took effect (git, or a history entry), whose date "
     "that is, and how many such events it has.",
     """
SELECT statement_id, max(effective_date) AS last_changed,
       arg_max(effective_date_source, seq) AS last_changed_source, count(*) AS changes
FROM status_history
WHERE event IN ('added', 'changed', 'recorded') AND effective_date IS NOT NULL
GROUP BY statement_id"""),
    ("statement_details",
     "Statements with their document and section titles, status labels, score, review state "
     "and last change.",
     """
SELECT s.statement_id, s.document_id, d.title AS document_title, s.section_id,
       sec.number AS section_number, sec.title AS section_title, s.position, s.id, s.summary,
       s.quote, s.status, st.label_en AS status_label, st.label_de AS status_label_de,
       st.score, s.reviewed,
       CASE WHEN s.reviewed THEN 'reviewed' ELSE 'not yet reviewed' END AS review_state,
       s.last_update, lc.last_changed, lc.last_changed_source, s.deadline, s.categories,
       s.responsible, s.measure
FROM statements s
JOIN sections sec ON sec.section_id = s.section_id
JOIN documents d ON d.document_id = s.document_id
JOIN statuses st ON st.status = s.status
LEFT JOIN last_changes lc ON lc.statement_id = s.statement_id
ORDER BY s.document_id, sec."order" NULLS LAST, s.section_id, s.position"""),
    ("status_summary",
     "Counts and shares of statements per status, for each document (scope 'document') and "
     "each section (scope 'section'); reviewed and not_yet_reviewed split the count by whether "
     "the editors have assessed the statement (an empty last_update: not yet).",
     """
WITH scopes AS (
    SELECT 'document' AS scope, document_id, NULL::VARCHAR AS section_id FROM documents
    UNION ALL
    SELECT 'section', document_id, section_id FROM sections
), counts AS (
    SELECT document_id, section_id, status, count(*) AS n,
           count(*) FILTER (WHERE reviewed) AS reviewed
    FROM statements
    GROUP BY GROUPING SETS ((document_id, status), (document_id, section_id, status))
)
SELECT g.scope, g.document_id, g.section_id, st.status, coalesce(c.n, 0) AS statements,
       coalesce(c.reviewed, 0) AS reviewed,
       coalesce(c.n, 0) - coalesce(c.reviewed, 0) AS not_yet_reviewed,
       coalesce(c.n, 0) / nullif(sum(coalesce(c.n, 0))
           OVER (PARTITION BY g.document_id, g.section_id), 0) AS share
FROM scopes g
CROSS JOIN statuses st
LEFT JOIN counts c ON c.document_id = g.document_id
    AND c.section_id IS NOT DISTINCT FROM g.section_id AND c.status = st.status
ORDER BY g.document_id, g.section_id NULLS FIRST, st.status"""),
    ("overdue",
     "Statements whose deadline has passed and that are not (fully) implemented.",
     """
SELECT statement_id, document_title, section_title, summary, status, deadline,
       current_date - deadline AS days_overdue, last_update
FROM statement_details
WHERE deadline < current_date AND status IN ('not_implemented', 'partially_implemented')
ORDER BY deadline, statement_id"""),
    ("timeline",
     "One row per statement per status event, in order: the day it took effect and whose date "
     "that is, when it was recorded, the commit and author (statements since removed included).",
     """
SELECT h.statement_id, split_part(h.statement_id, '/', 1) AS document_id, h.seq,
       h.effective_date, h.effective_date_source, h.recorded_at, h.event,
       h.previous_status, h.status, h.source, h."commit", h.author, h.authored_at, h.path,
       h.last_update, h.note, h.url
FROM status_history h
ORDER BY h.statement_id, h.seq"""),
    ("transitions",
     "Status transitions (from -> to, with the event) counted per document and month in which "
     "they took effect.",
     """
SELECT split_part(statement_id, '/', 1) AS document_id,
       strftime(effective_date, '%Y-%m') AS month, event,
       previous_status AS from_status, status AS to_status, count(*) AS statements
FROM status_history
WHERE effective_date IS NOT NULL AND event <> 'snapshot'
GROUP BY ALL
ORDER BY document_id, month, event, from_status NULLS FIRST, to_status NULLS FIRST"""),
]

MACROS = [
    """CREATE MACRO status_as_of(day) AS TABLE
SELECT statement_id, status, effective_date, effective_date_source, recorded_at, event, source,
       "commit", author
FROM (
    SELECT *, row_number() OVER (PARTITION BY statement_id ORDER BY seq DESC) AS latest
    FROM status_history
    WHERE effective_date IS NOT NULL AND effective_date <= CAST(day AS DATE)
)
WHERE latest = 1 AND event <> 'removed'
ORDER BY statement_id""",
]
