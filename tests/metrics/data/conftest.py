# make_dcurves_fixture.py runs by hand in its own environment (dcurves pins pandas
# < 3), never in the test run: its import of dcurves would fail collection.
collect_ignore = ["make_dcurves_fixture.py"]
