"""The writing side of opsbook: the Excel workbook from the spec, the Word summary from a report."""
