"""What a running newsmon holds, for every stage that does I/O: the App (config, database,
compiled watchlists, notifiers, clock) and its metrics. Built once per process."""
