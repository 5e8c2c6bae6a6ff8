"""A Jepsen-style fault test of the hub: a "bank" workload under crashes, restarts and lost replies.

- faults.bank: the command; set up, run, check, print the figures (python -m faults.bank)
- faults.postgres: a throwaway PostgreSQL cluster of our own, so it can be restarted freely
- faults.hubs: `coalition serve` replicas as subprocesses; start, SIGKILL, restart
- faults.nemesis: the faults; the killer thread, the database restart, dropped replies
- faults.workload: the coalition and its concurrent SDK clients, recording every answer
- faults.history: what each client asked and was told
- faults.checker: after the run, from the database; what was answered happened exactly once
"""
