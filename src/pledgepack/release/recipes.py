"""The data README's step-by-step parts: checking the download, and reading the CSV files with
their schema in Python (frictionless, pandas) and R (readr). Each recipe takes the types from
`datapackage.json`, so none of them lists a column, and each is run by the tests as written."""
from __future__ import annotations

SUMS_FILE = "SHA256SUMS"

_VERIFY = """\
## Verifying the download

`{sums}` lists the checksum of the zip and of every file in it. Put the downloaded \
`{zip}` and `{sums}` into an empty folder and run, in that folder:

```sh
grep ' {zip}$' {sums} | sha256sum -c -
unzip -q {zip}
sha256sum -c {sums}
```

The first line checks the zip alone (the files it holds are not there yet), the last every \
file after unpacking. On macOS use `shasum -a 256 -c` in place of `sha256sum -c`. To check \
every row against the schemas as well: `frictionless validate datapackage.json` (from \
`pip install frictionless`).
"""

_RECIPES = """\
## Reading the CSV files with their schema

Read without the schema, a CSV reader guesses types: a section number such as `2.10` becomes \
the number 2.1, an empty cell may become "NA". `datapackage.json` says each column's type; \
these read the CSV files with it (run them in the unpacked folder).

With frictionless (`pip install frictionless`), every value typed (dates, booleans, lists):

```python
from frictionless import Package

package = Package("datapackage.json")
{table} = package.get_table_resource("{table}").read_rows()
print({table}[0])
```

With pandas, the dtypes taken from the descriptor:

```python
import json

import pandas as pd

DTYPES = {{"string": "string", "integer": "Int64", "number": "Float64", "boolean": "boolean"}}
with open("datapackage.json", encoding="utf-8") as handle:
    descriptor = json.load(handle)


def read_table(name):
    resource = next(r for r in descriptor["resources"] if r["name"] == name)
    fields = resource["schema"]["fields"]
    frame = pd.read_csv(resource["path"], keep_default_na=False, na_values=[""],
                        dtype={{f["name"]: DTYPES.get(f["type"], "string") for f in fields}})
    for f in fields:
        if f["type"] in ("date", "datetime"):
            frame[f["name"]] = pd.to_datetime(frame[f["name"]], utc=f["type"] == "datetime")
        elif f["type"] == "list":
            frame[f["name"]] = frame[f["name"]].str.split(f.get("delimiter", ","))
    return frame


{table} = read_table("{table}")
print({table}.dtypes)
```

With R and readr (`install.packages(c("readr", "jsonlite"))`), `col_types` from the descriptor \
(lists stay text, separated by `;`):

```r
library(readr)
library(jsonlite)

descriptor <- fromJSON("datapackage.json", simplifyVector = FALSE)
read_table <- function(name) {{
  resource <- Filter(function(r) r$name == name, descriptor$resources)[[1]]
  types <- c(string = "c", integer = "i", number = "d", boolean = "l",
             date = "D", datetime = "T", list = "c")
  kinds <- vapply(resource$schema$fields, function(f) f$type, "")
  read_csv(resource$path, col_types = paste(types[kinds], collapse = ""), na = "")
}}

{table} <- read_table("{table}")
print(spec({table}))
```
"""


def verify_section(zip_name: str) -> list[str]:
    return _VERIFY.format(zip=zip_name, sums=SUMS_FILE).splitlines() + [""]


def recipes_section(table: str) -> list[str]:
    return _RECIPES.format(table=table).splitlines() + [""]
