"""The campaigns app's pages, a module per page family; campaigns/urls.py maps them."""
