"""The audit log: the hash chain, its receivers, reads, export, compliance figures and pages."""
