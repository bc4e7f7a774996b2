"""The benchmark and load tooling (development only: nothing in the site imports it).

`python -m bench` (`make bench`, `make soak`) serves the site as production does and loads it
with wrk; `python -m bench data` generates the community it measures. Each module's
docstring says what it holds; bench/report.lua is the wrk script.
"""
