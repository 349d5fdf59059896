data "aws_availability_zones" "available" {
  state = "available"
  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

data "aws_caller_identity" "current" {}

locals {
  name = var.name
  azs  = slice(data.aws_availability_zones.available.names, 0, 3)

  # The four reference services; paths are what the ALB routes on (same routes as the local HAProxy).
  services = {
    users           = { path_patterns = ["/api/users", "/api/users/*", "/api/auth", "/api/auth/*"], priority = 10 }
    catalog         = { path_patterns = ["/api/titles", "/api/titles/*"], priority = 20 }
    recommendations = { path_patterns = ["/api/recommendations", "/api/recommendations/*"], priority = 30 }
    events          = { path_patterns = ["/api/events", "/api/events/*"], priority = 40 }
  }

  k8s_namespace = "tenfold"
  # The distributed load generator (infra/k8s/locust) runs apart from the services, in a namespace of its own.
  k8s_load_namespace = "tenfold-load"
  dynamodb_tables = {
    titles          = "id"
    recommendations = "user_id"
  }

  tags = merge(var.tags, {
    Project     = "tenfold"
    Environment = var.environment
    ManagedBy   = "terraform"
  })
}
