def test_the_engine_benchmark_runs_tiny(db, bsg_settings, monkeypatch):
    from bench.engine_submit import run
    from campaigns import engine

    # Three parts at this size, as the million splits into a hundred.
    monkeypatch.setattr(engine.rules, "MAX_SMS_RECIPIENTS", 100)
    figures = run(recipients=300)
    assert figures["recipients"] == 297  # 1% on the do-not-contact list
    assert figures["parts"] == 3
