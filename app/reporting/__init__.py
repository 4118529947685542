"""The report's presentation away from the web: the summary of `app.domain.reports` as
titled tables with Indonesian headers (`tables`), drawn as charts (`charts`, pygal SVG
and the heat map's shaded cells) and written as files (`exports`, CSV and XLSX). Plain
data in, text or bytes out: no Flask, no database."""
