"""Sources: parsers that turn Amazon files and SP-API pages into canonical events. Parsing never posts."""
