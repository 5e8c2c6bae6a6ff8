"""The exchange's benchmark: bench/run.py and the other scripts here are its command lines, bench/README.md its figures.

Modules, one job each: console (where progress goes), cpu (CPU from /proc), postgres (the server
and the fresh databases), hub (`coalition serve` as a subprocess), brands (the coalition's set-up),
clients (load generation), latency, conversions (one measured run), floor (the no-op gRPC floor),
pgbench, ed25519, py_spy, ceiling (what the machine allows), settle (closing a settlement period),
benchmark (the steps in order), report (the tables), result (the JSON line), in_process (a hub in
this process, for round_trips and trace_conversion).
"""
