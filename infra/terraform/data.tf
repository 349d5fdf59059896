################################################################################
# Data stores. None is reachable from outside the VPC: ingress only from the EKS node security group.
################################################################################

# ElastiCache Redis: primary + replica(s) in different AZs, automatic failover, TLS + AUTH, encrypted at rest.
resource "random_password" "redis_auth" {
  length  = 48
  special = false
}

module "redis" {
  source  = "terraform-aws-modules/elasticache/aws"
  version = "~> 1.3"

  replication_group_id = "${local.name}-cache"
  description          = "tenfold cache-aside for catalog and recommendations"

  engine         = "redis"
  engine_version = "7.1"
  node_type      = var.redis_node_type

  cluster_mode_enabled       = false
  num_cache_clusters         = 1 + var.redis_replicas
  multi_az_enabled           = true
  automatic_failover_enabled = true

  at_rest_encryption_enabled = true
  transit_encryption_enabled = true
  auth_token                 = random_password.redis_auth.result

  snapshot_retention_limit   = 1
  auto_minor_version_upgrade = true
  maintenance_window         = "sun:05:00-sun:06:00"
  apply_immediately          = true

  vpc_id = module.vpc.vpc_id
  security_group_rules = {
    ingress_eks_nodes = {
      description                  = "Redis from EKS nodes only"
      referenced_security_group_id = module.eks.node_security_group_id
    }
  }

  subnet_ids = module.vpc.database_subnets

  create_parameter_group = true
  parameter_group_family = "redis7"
  parameters = [
    { name = "maxmemory-policy", value = "allkeys-lru" },
  ]
}

# RDS PostgreSQL: Multi-AZ standby, encrypted storage, master password generated and rotated by
# RDS in Secrets Manager (never in Terraform variables).
module "postgres_sg" {
  source  = "terraform-aws-modules/security-group/aws"
  version = "~> 5.2"

  name        = "${local.name}-postgres"
  description = "PostgreSQL from EKS nodes only"
  vpc_id      = module.vpc.vpc_id

  ingress_with_source_security_group_id = [{
    rule                     = "postgresql-tcp"
    description              = "PostgreSQL from EKS nodes"
    source_security_group_id = module.eks.node_security_group_id
  }]
}

module "postgres" {
  source  = "terraform-aws-modules/rds/aws"
  version = "~> 6.9"

  identifier = "${local.name}-users"

  engine               = "postgres"
  engine_version       = "16.4"
  family               = "postgres16"
  major_engine_version = "16"
  instance_class       = var.db_instance_class

  allocated_storage     = var.db_allocated_storage
  max_allocated_storage = var.db_allocated_storage * 4
  storage_type          = "gp3"
  storage_encrypted     = true

  db_name                     = "tenfold"
  username                    = "tenfold"
  port                        = 5432
  manage_master_user_password = true

  multi_az               = true
  db_subnet_group_name   = module.vpc.database_subnet_group_name
  vpc_security_group_ids = [module.postgres_sg.security_group_id]
  publicly_accessible    = false

  iam_database_authentication_enabled = true
  backup_retention_period             = 7
  deletion_protection                 = var.environment == "prod"
  skip_final_snapshot                 = var.environment != "prod"
  copy_tags_to_snapshot               = true
  auto_minor_version_upgrade          = true

  performance_insights_enabled          = true
  performance_insights_retention_period = 7
  monitoring_interval                   = 60
  create_monitoring_role                = true
  monitoring_role_name                  = "${local.name}-rds-monitoring"
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]

  # synchronous_commit stays on: an acknowledged My List write must survive a failover.
  parameters = [
    { name = "synchronous_commit", value = "on" },
    { name = "log_min_duration_statement", value = "250" },
  ]
}

# DynamoDB: titles and precomputed recommendations, on-demand so a 10x spike needs no capacity planning.
module "dynamodb" {
  source  = "terraform-aws-modules/dynamodb-table/aws"
  version = "~> 4.1"

  for_each = local.dynamodb_tables

  name         = "${local.name}-${each.key}"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = each.value
  attributes   = [{ name = each.value, type = "N" }]

  point_in_time_recovery_enabled = true
  server_side_encryption_enabled = true
  deletion_protection_enabled    = var.environment == "prod"
}

# S3: one bucket per entry of local.buckets, all private, encrypted, TLS-only and versioned; each moves its objects to
# STANDARD_IA after 30 days, and its lifecycle entry names the rule and whether objects expire.
module "buckets" {
  source  = "terraform-aws-modules/s3-bucket/aws"
  version = "~> 4.2"

  for_each = local.buckets

  bucket_prefix = "${local.name}-${each.key}-"

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true

  control_object_ownership = true
  object_ownership         = "BucketOwnerEnforced"

  attach_deny_insecure_transport_policy = true
  attach_require_latest_tls_policy      = true

  versioning = { enabled = true }

  server_side_encryption_configuration = {
    rule = {
      apply_server_side_encryption_by_default = {
        sse_algorithm = "aws:kms"
      }
      bucket_key_enabled = true
    }
  }

  lifecycle_rule = [merge({
    enabled = true
    filter  = { prefix = "" }
    transition = [{
      days          = 30
      storage_class = "STANDARD_IA"
    }]
    noncurrent_version_expiration          = { days = 7 }
    abort_incomplete_multipart_upload_days = 1
  }, each.value.lifecycle)]
}
