"""Reading a content folder: document folders, chapter files, front matter and anchors,
into the model (`pledgepack.model`). Knows nothing of the output."""
