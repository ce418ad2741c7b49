"""The workbook side of opsbook: the template spec, KPI expressions, reading workbooks."""
