"""Wire formats: W3C datetimes, the JSON/XML renderer."""
