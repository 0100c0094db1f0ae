"""An SMS text's encoding in the composer's words: `{{ stats.encoding|encoding_words }}` gives
"standard characters" for GSM-7, `{{ stats.encoding|encoding_hint }}` the title hint that keeps
the technical name (campaigns.bsg_words, as the send plan panel says them)."""

from django import template

from campaigns.bsg_words import encoding_hint as _encoding_hint
from campaigns.bsg_words import encoding_words as _encoding_words

register = template.Library()


@register.filter
def encoding_words(encoding: str) -> str:
    """ "standard characters" / "special characters"; an unknown encoding as it is spelled."""
    return _encoding_words(encoding)


@register.filter
def encoding_hint(encoding: str) -> str:
    """What the encoding means for the text's length, with its technical name."""
    return _encoding_hint(encoding)
