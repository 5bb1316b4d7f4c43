"""The ØiR integration engine: routes each municipality's claims to its debtor system, keeps FBS and
the debtor system in step, and loses nothing in a crash. It never imports `simulators`: it runs
unchanged against real vendors."""
