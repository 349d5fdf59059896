################################################################################
# The glue between AWS and the manifests in infra/k8s: the namespace, the ConfigMap and Secrets the
# Deployments read through `envFrom`, and service accounts annotated with their IRSA roles.
# The Deployments themselves are applied from infra/k8s (the single source of truth), not from here.
################################################################################

# The services' namespace and the distributed load generator's (local.k8s_namespaces).
resource "kubernetes_namespace_v1" "namespaces" {
  for_each = local.k8s_namespaces

  metadata {
    name = each.value
    labels = {
      "app.kubernetes.io/part-of"          = "tenfold"
      "pod-security.kubernetes.io/enforce" = "restricted"
    }
  }
}

resource "kubernetes_config_map_v1" "aws" {
  metadata {
    name      = "tenfold-aws"
    namespace = kubernetes_namespace_v1.namespaces["tenfold"].metadata[0].name
  }
  data = {
    TENFOLD_AWS_REGION        = var.region
    TENFOLD_TABLE_PREFIX      = "${local.name}-"
    TENFOLD_DYNAMODB_ENDPOINT = "https://dynamodb.${var.region}.amazonaws.com"
    TENFOLD_S3_ENDPOINT       = "https://s3.${var.region}.amazonaws.com"
    TENFOLD_S3_BUCKET         = module.buckets["events"].s3_bucket_id
  }
}

# RDS keeps the master password in Secrets Manager; the users service takes a DSN, so it is copied into
# a Kubernetes Secret (encrypted with the cluster KMS key). RDS rotates it every 7 days by default:
# re-run `terraform apply` after a rotation (or wire External Secrets Operator; see docs/deploy-aws.md).
data "aws_secretsmanager_secret_version" "postgres_master" {
  secret_id = module.postgres.db_instance_master_user_secret_arn
}

resource "kubernetes_secret_v1" "postgres" {
  metadata {
    name      = "tenfold-postgres"
    namespace = kubernetes_namespace_v1.namespaces["tenfold"].metadata[0].name
  }
  data = {
    TENFOLD_POSTGRES_DSN = format(
      "postgresql://%s:%s@%s/%s?sslmode=require",
      module.postgres.db_instance_username,
      urlencode(jsondecode(data.aws_secretsmanager_secret_version.postgres_master.secret_string)["password"]),
      module.postgres.db_instance_endpoint,
      module.postgres.db_instance_name,
    )
  }
}

resource "kubernetes_secret_v1" "redis" {
  metadata {
    name      = "tenfold-redis"
    namespace = kubernetes_namespace_v1.namespaces["tenfold"].metadata[0].name
  }
  data = {
    TENFOLD_REDIS_URL = "rediss://:${random_password.redis_auth.result}@${module.redis.replication_group_primary_endpoint_address}:6379/0"
  }
}

# The key the services sign and check bearer tokens with (users issues them at /api/auth/token).
resource "random_password" "jwt" {
  length  = 64
  special = false
}

resource "kubernetes_secret_v1" "jwt" {
  metadata {
    name      = "tenfold-jwt"
    namespace = kubernetes_namespace_v1.namespaces["tenfold"].metadata[0].name
  }
  data = {
    TENFOLD_JWT_SECRET = random_password.jwt.result
  }
}

# Every service account of local.service_accounts, annotated with its IRSA role where it has one (users has none).
# infra/k8s/serviceaccounts.yaml and infra/k8s/locust/master.yaml carry the same accounts without the annotation,
# for clusters without IRSA.
resource "kubernetes_service_account_v1" "services" {
  for_each = local.service_accounts

  metadata {
    name      = "tenfold-${each.key}"
    namespace = kubernetes_namespace_v1.namespaces[each.value].metadata[0].name
    labels = {
      "app.kubernetes.io/name"    = each.key
      "app.kubernetes.io/part-of" = "tenfold"
    }
    annotations = contains(keys(local.service_roles), each.key) ? {
      "eks.amazonaws.com/role-arn" = module.service_irsa[each.key].iam_role_arn
    } : {}
  }
  automount_service_account_token = false
}
