"""A local stand-in for the BSG One API: same paths, request rules, answers, tokens and errors.

The dashboard is developed, demonstrated and tested against it with no internet, so its fidelity
to BSG's contract (/work/shared/bsg-api.md, the vendor pages and BSG's OpenAPI YAML) matters as
much as the app's. Plain Python on Werkzeug; no Django.

It is a test double of the vendor, not part of our client, so it imports nothing from ``bsg``:
its limits are its own reading of the vendor pages (``vendor_rules``), and a wrong number in
``bsg.rules`` fails a test instead of passing on both sides (tests/sandbox/test_independence.py).

    server.py        SandboxServer (threaded Werkzeug server) and the public names
    config.py        SandboxConfig: the account and how the sandbox behaves
    app.py           WSGI app: routing, auth, duplicate guard, faults, request log, /_sandbox/
    api.py           one method per BSG endpoint
    validation/      request checks, one module per kind of request, in BSG's 422 shape
    vendor_rules.py  BSG's limits read from the vendor pages, each citing its page
    sms_segments.py  GSM-7 / UCS-2 length and SMS parts, the sandbox's own count
    shapes.py        BSG's answer shapes, field for field
    store.py         state: messages in in-process SQLite, the rest in Python objects
    lifecycle.py     campaign and message statuses as pure functions of time
    faults.py        seeded fault injection
    callbacks.py     message statuses pushed to a send's callback_url (a thread)
    tokens.py        HS256 JWT bearer tokens
    clock.py         the sandbox clock (freeze, advance)
    requestlog.py    what GET /_sandbox/requests shows
    state.py         everything a running sandbox holds; ``server.state``
    __main__.py      python -m sandbox
"""
