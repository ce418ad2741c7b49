"""The workbook side of opsbook: the template spec, KPI expressions, and reading filled workbooks."""
