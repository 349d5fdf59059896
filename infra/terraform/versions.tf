terraform {
  required_version = ">= 1.5.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 2.15"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.32"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # State holds the Redis auth token and the Kubernetes secret built from the RDS password:
  # keep it in an encrypted, versioned S3 backend (see docs/deploy-aws.md), e.g.
  #   terraform init -backend-config="bucket=..." -backend-config="key=tenfold.tfstate" -backend-config="region=..."
  backend "s3" {
    encrypt = true
  }
}
