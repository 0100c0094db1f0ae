from django.utils import translation

from campaigns import stored_text


def shown_in_english_and_ukrainian(stored: str) -> tuple[str, str]:
    """A stored text as an English reader and a Ukrainian one read it (stored_text.shown)."""
    with translation.override("en"):
        english = stored_text.shown(stored)
    with translation.override("uk"):
        ukrainian = stored_text.shown(stored)
    return english, ukrainian
