"""The campaign engine: resolve recipients, submit parts, reconcile, poll and stop.

The database is the truth. Every move of a part is a compare-and-set on its `state`, so a task
delivered twice, a worker killed mid-request or a beat that fires twice does nothing the first
one did not already decide. The one thing that is never done blindly is a second POST of a part
whose first POST may have been accepted: each one could be a paid SMS blast. Such a part is
`unconfirmed` until BSG's own records (E9 by reference id, E5 for group sends) say whether it
exists; only when they provably do not may it be sent again, with the SAME reference ids, which
BSG refuses as duplicates if the first request got through after all.
"""
