"""Synonyms, all of them: single-word groups the index expands (FT.SYNUPDATE), and
multi-word spellings ("science fiction") the query builder expands itself."""

SYNONYM_GROUPS = {
    "film": ["film", "movie", "picture", "flick"],
    "scifi": ["scifi", "sf"],
    "animation": ["animation", "animated", "cartoon"],
    "documentary": ["documentary", "doc", "docudrama"],
    "war": ["war", "wartime"],
    "kid": ["kid", "child", "children"],
    "detective": ["detective", "sleuth", "investigator"],
    "cop": ["cop", "police", "policeman"],
    "murder": ["murder", "killing", "homicide"],
    "spy": ["spy", "agent", "espionage"],
}
# Each pair also finds the others and the single word "scifi".
PHRASE_SYNONYMS = (
    ("sci", "fi"),
    ("science", "fiction"),
)
PHRASE_SYNONYM_WORD = "scifi"
