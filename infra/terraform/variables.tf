variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like an AWS region, e.g. us-east-1."
  }
}

variable "name" {
  description = "Name prefix for every resource (also the DynamoDB table prefix the services use)."
  type        = string
  default     = "tenfold"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,20}$", var.name))
    error_message = "name must be 3-21 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "environment" {
  description = "Environment tag (dev, staging, prod)."
  type        = string
  default     = "dev"

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of dev, staging, prod."
  }
}

variable "tags" {
  description = "Extra tags on every resource."
  type        = map(string)
  default     = {}
}

variable "vpc_cidr" {
  description = "VPC CIDR; split into 3 public, 3 private and 3 database subnets (one per AZ)."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be a valid IPv4 CIDR of /20 or larger."
  }
}

variable "cluster_version" {
  description = "EKS Kubernetes version (the manifests in infra/k8s are validated against this version's schemas)."
  type        = string
  default     = "1.31"

  validation {
    condition     = can(regex("^1\\.(2[9]|3[0-9])$", var.cluster_version))
    error_message = "cluster_version must be 1.29 or newer, e.g. 1.31."
  }
}

variable "cluster_endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the EKS API endpoint (kubectl/terraform). Keep it to your office/VPN."
  type        = list(string)

  validation {
    condition     = length(var.cluster_endpoint_public_access_cidrs) > 0 && alltrue([for c in var.cluster_endpoint_public_access_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "cluster_endpoint_public_access_cidrs must be non-empty valid CIDRs and must not contain 0.0.0.0/0."
  }
}

variable "node_instance_types" {
  description = "Instance types for the managed node group (several = better spot/capacity odds)."
  type        = list(string)
  default     = ["m6i.large", "m5.large"]

  validation {
    condition     = length(var.node_instance_types) > 0
    error_message = "node_instance_types must list at least one instance type."
  }
}

variable "node_min_size" {
  description = "Managed node group minimum size (one per AZ keeps every AZ usable)."
  type        = number
  default     = 3

  validation {
    condition     = var.node_min_size >= 3
    error_message = "node_min_size must be at least 3 (one node per AZ)."
  }
}

variable "node_max_size" {
  description = "Managed node group maximum size; the cluster autoscaler adds nodes up to this when pods are pending."
  type        = number
  default     = 9

  validation {
    condition     = var.node_max_size >= 3 && var.node_max_size <= 100
    error_message = "node_max_size must be between 3 and 100."
  }
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.small"

  validation {
    condition     = startswith(var.redis_node_type, "cache.")
    error_message = "redis_node_type must be an ElastiCache node type (cache.*)."
  }
}

variable "redis_replicas" {
  description = "Read replicas next to the Redis primary (Multi-AZ automatic failover needs at least 1)."
  type        = number
  default     = 1

  validation {
    condition     = var.redis_replicas >= 1 && var.redis_replicas <= 5
    error_message = "redis_replicas must be between 1 and 5."
  }
}

variable "db_instance_class" {
  description = "RDS PostgreSQL instance class."
  type        = string
  default     = "db.t4g.medium"

  validation {
    condition     = startswith(var.db_instance_class, "db.")
    error_message = "db_instance_class must be an RDS instance class (db.*)."
  }
}

variable "db_allocated_storage" {
  description = "RDS allocated storage in GiB (storage autoscaling goes to 4x this)."
  type        = number
  default     = 20

  validation {
    condition     = var.db_allocated_storage >= 20 && var.db_allocated_storage <= 1000
    error_message = "db_allocated_storage must be between 20 and 1000 GiB."
  }
}

variable "events_retention_days" {
  description = "Days before event batches in S3 expire (they move to STANDARD_IA after 30 days)."
  type        = number
  default     = 90

  validation {
    condition     = var.events_retention_days > 30
    error_message = "events_retention_days must be more than 30 (objects transition to STANDARD_IA at 30 days)."
  }
}

variable "api_throttling_rate_limit" {
  description = "API Gateway steady-state requests per second (the 10x spike must fit under it, or the test measures the throttle)."
  type        = number
  default     = 2000

  validation {
    condition     = var.api_throttling_rate_limit > 0 && var.api_throttling_rate_limit <= 10000
    error_message = "api_throttling_rate_limit must be between 1 and 10000."
  }
}

variable "api_throttling_burst_limit" {
  description = "API Gateway burst (token bucket size)."
  type        = number
  default     = 4000

  validation {
    condition     = var.api_throttling_burst_limit > 0 && var.api_throttling_burst_limit <= 5000
    error_message = "api_throttling_burst_limit must be between 1 and 5000."
  }
}

variable "cloudfront_price_class" {
  description = "CloudFront price class."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.cloudfront_price_class)
    error_message = "cloudfront_price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "cpu_high_threshold" {
  description = "CloudWatch alarm: node CPU above this percent (the seed's scale-up line)."
  type        = number
  default     = 70

  validation {
    condition     = var.cpu_high_threshold > 0 && var.cpu_high_threshold <= 100
    error_message = "cpu_high_threshold must be a percentage in (0, 100]."
  }
}

variable "cpu_low_threshold" {
  description = "CloudWatch alarm: node CPU below this percent (the seed's scale-in line)."
  type        = number
  default     = 30

  validation {
    condition     = var.cpu_low_threshold >= 0 && var.cpu_low_threshold < 100
    error_message = "cpu_low_threshold must be a percentage in [0, 100)."
  }
}

variable "alarm_email" {
  description = "Optional e-mail subscribed to the alarm SNS topic (empty: no subscription)."
  type        = string
  default     = ""

  validation {
    condition     = var.alarm_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be empty or an e-mail address."
  }
}

variable "enable_managed_prometheus" {
  description = "Create an Amazon Managed Prometheus workspace and remote-write the in-cluster Prometheus to it."
  type        = bool
  default     = false
}
