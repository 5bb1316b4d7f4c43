"""`python -m bench`: run every benchmark with its defaults."""

from bench import debtor_registration

debtor_registration.main([])
