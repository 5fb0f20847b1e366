"""Letters: the service directory, referral workflow, PDF letters and the outbox."""
