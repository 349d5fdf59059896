################################################################################
# State moves: the S3 buckets, the services' IRSA roles and policies, the namespaces and the service accounts were
# one block each and are now for_each blocks over maps in locals.tf. A state applied before that moves to the new
# addresses instead of destroying and re-creating (`terraform plan` lists them as moved). Keep these until every
# state has been applied past them.
################################################################################

moved {
  from = module.events_bucket
  to   = module.buckets["events"]
}

moved {
  from = module.results_bucket
  to   = module.buckets["results"]
}

moved {
  from = aws_iam_policy.catalog_reads
  to   = aws_iam_policy.services["catalog-reads"]
}

moved {
  from = aws_iam_policy.events_writes
  to   = aws_iam_policy.services["events-writes"]
}

moved {
  from = aws_iam_policy.results_uploads
  to   = aws_iam_policy.services["results-uploads"]
}

moved {
  from = module.load_generator_irsa
  to   = module.service_irsa["load-generator"]
}

moved {
  from = kubernetes_namespace_v1.tenfold
  to   = kubernetes_namespace_v1.namespaces["tenfold"]
}

moved {
  from = kubernetes_namespace_v1.load
  to   = kubernetes_namespace_v1.namespaces["load"]
}

moved {
  from = kubernetes_service_account_v1.load_generator
  to   = kubernetes_service_account_v1.services["load-generator"]
}
