"""Reads for the campaigns app. Calls to BSG that only read live here, behind a short cache."""

from dataclasses import dataclass

from django.core.cache import cache

from bsg.errors import BsgError
from bsg.schemas import Balance
from config.bsg import bsg_client

BALANCE_CACHE_KEY = "bsg:account-balance"
# The balance changes only when campaigns are billed; a minute old is fresh enough for a header,
# and it keeps a busy dashboard from calling BSG on every page view.
BALANCE_CACHE_SECONDS = 60


@dataclass(frozen=True)
class AccountState:
    balance: Balance | None
    error: str | None


def bsg_account_state() -> AccountState:
    """The BSG account's balance, or a plain-words reason it could not be read."""
    cached = cache.get(BALANCE_CACHE_KEY)
    if cached is not None:
        return cached
    try:
        state = AccountState(balance=bsg_client().balance(), error=None)
    except BsgError as error:
        # Not cached: the next view tries again, so a sandbox that starts late is seen at once.
        return AccountState(balance=None, error=str(error))
    cache.set(BALANCE_CACHE_KEY, state, BALANCE_CACHE_SECONDS)
    return state
