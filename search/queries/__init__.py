"""Every piece of RediSearch syntax: user text (`text`), the search query (`builder`),
"more like this" (`similar`), synonyms (`synonyms`) and the FT.* arguments (`ft`)."""
