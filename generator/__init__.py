"""flaskgen: generate Flask projects from a Copier template.

Imported as `flaskgen` (the folder is generator/). Keep imports out of this file so that
`flaskgen --help` stays fast: each module imports what it needs when it runs.
"""
