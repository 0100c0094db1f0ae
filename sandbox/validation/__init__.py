"""Request checks for the sandbox's BSG endpoints, one module per kind of request.

    fields.py   BSG's refusal and 422 shape, the field readers and delivery options all share
    sms.py      E1, E2, E3 and the price estimate E10
    rcs.py      E6 and E14: options, cards, suggestions, the SMS fallback
    book.py     contact lists, contacts, contact fields, attach and detach
    queries.py  the query strings of the paged reads (E5, E9, lists, contacts)

The limits and value rules come from ``sandbox.vendor_rules`` and ``sandbox.sms_segments``, the
sandbox's own reading of the vendor pages; nothing here imports the app's ``bsg`` package.
"""
