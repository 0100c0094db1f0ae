def test_the_engine_benchmark_runs_tiny(db, bsg_settings, monkeypatch):
    from bench.engine_submit import run
    from bsg import rules

    # Three parts at this size, as the million splits into a hundred.
    monkeypatch.setattr(rules, "MAX_SMS_RECIPIENTS", 100)
    figures = run(recipients=300)
    assert figures["recipients"] == 297  # 1% on the do-not-contact list
    assert figures["parts"] == 3


def test_the_poll_benchmark_stays_within_its_call_budget(db, bsg_settings, sandbox):
    from bench.engine_poll import run

    figures = run(parts=30, sandbox=sandbox)
    assert figures["parts"] == 30
    # One E5 page holds all 30 (500 a page): at most ceil(30 / 500) + 1 calls.
    assert figures["api_calls"] <= figures["call_limit"] == 2
