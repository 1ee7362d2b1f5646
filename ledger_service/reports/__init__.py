"""Reports derived from the journal: gross to net, and the month-end close pack (close.py, rendered as HTML, XLSX
or CSV by render.py; its page template in templates/, shipped in the wheel as package data)."""
