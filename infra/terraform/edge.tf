################################################################################
# Edge: CloudFront -> API Gateway HTTP API (throttling) -> VPC link -> internal ALB -> pods.
# Terraform owns the ALB, listener and one IP target group per service; the AWS Load Balancer
# Controller (IRSA) keeps pod IPs registered through TargetGroupBindings (output below).
################################################################################

module "vpc_link_sg" {
  source  = "terraform-aws-modules/security-group/aws"
  version = "~> 5.2"

  name        = "${local.name}-apigw-vpc-link"
  description = "API Gateway VPC link ENIs"
  vpc_id      = module.vpc.vpc_id

  egress_with_cidr_blocks = [{
    rule        = "http-80-tcp"
    description = "to the internal ALB"
    cidr_blocks = module.vpc.vpc_cidr_block
  }]
}

module "alb" {
  source  = "terraform-aws-modules/alb/aws"
  version = "~> 9.11"

  name                       = "${local.name}-services"
  load_balancer_type         = "application"
  internal                   = true
  vpc_id                     = module.vpc.vpc_id
  subnets                    = module.vpc.private_subnets
  enable_deletion_protection = var.environment == "prod"
  drop_invalid_header_fields = true

  security_group_ingress_rules = {
    from_vpc_link = {
      description                  = "HTTP from the API Gateway VPC link only"
      from_port                    = 80
      to_port                      = 80
      ip_protocol                  = "tcp"
      referenced_security_group_id = module.vpc_link_sg.security_group_id
    }
  }
  security_group_egress_rules = {
    to_pods = {
      description = "to pod IPs on the service port"
      from_port   = 8080
      to_port     = 8080
      ip_protocol = "tcp"
      cidr_ipv4   = module.vpc.vpc_cidr_block
    }
  }

  listeners = {
    http = {
      port     = 80
      protocol = "HTTP"
      fixed_response = {
        content_type = "application/json"
        message_body = "{\"title\":\"Not Found\",\"status\":404}"
        status_code  = "404"
      }
      rules = {
        for svc, cfg in local.services : svc => {
          priority = cfg.priority
          actions  = [{ type = "forward", target_group_key = svc }]
          conditions = [{
            path_pattern = { values = cfg.path_patterns }
          }]
        }
      }
    }
  }

  target_groups = {
    for svc, _ in local.services : svc => {
      name_prefix                   = substr(svc, 0, 6)
      protocol                      = "HTTP"
      port                          = 8080
      target_type                   = "ip"
      deregistration_delay          = 10
      load_balancing_algorithm_type = "least_outstanding_requests"
      create_attachment             = false
      health_check = {
        enabled             = true
        path                = "/readyz"
        port                = "traffic-port"
        healthy_threshold   = 2
        unhealthy_threshold = 2
        interval            = 5
        timeout             = 2
        matcher             = "200"
      }
    }
  }
}

module "api_gateway" {
  source  = "terraform-aws-modules/apigateway-v2/aws"
  version = "~> 5.2"

  name          = local.name
  description   = "tenfold reference services"
  protocol_type = "HTTP"

  create_domain_name = false

  stage_default_route_settings = {
    detailed_metrics_enabled = true
    throttling_rate_limit    = var.api_throttling_rate_limit
    throttling_burst_limit   = var.api_throttling_burst_limit
  }

  stage_access_log_settings = {
    create_log_group            = true
    log_group_retention_in_days = 30
    format = jsonencode({
      requestId      = "$context.requestId"
      ip             = "$context.identity.sourceIp"
      routeKey       = "$context.routeKey"
      status         = "$context.status"
      latency        = "$context.responseLatency"
      integrationErr = "$context.integrationErrorMessage"
    })
  }

  routes = {
    "ANY /api/{proxy+}" = {
      integration = {
        connection_type      = "VPC_LINK"
        vpc_link_key         = "services"
        type                 = "HTTP_PROXY"
        method               = "ANY"
        uri                  = module.alb.listeners["http"].arn
        timeout_milliseconds = 10000
      }
    }
  }

  vpc_links = {
    services = {
      name               = "${local.name}-services"
      security_group_ids = [module.vpc_link_sg.security_group_id]
      subnet_ids         = module.vpc.private_subnets
    }
  }
}

# CloudFront in front: TLS to viewers, forwards everything on /api/* to the API, caches nothing it must
# not (the API sends Cache-Control; the managed CachingDisabled policy is the default behaviour).
data "aws_cloudfront_cache_policy" "disabled" {
  name = "Managed-CachingDisabled"
}

data "aws_cloudfront_origin_request_policy" "all_viewer_except_host" {
  name = "Managed-AllViewerExceptHostHeader"
}

data "aws_cloudfront_response_headers_policy" "security_headers" {
  name = "Managed-SecurityHeadersPolicy"
}

module "cdn" {
  source  = "terraform-aws-modules/cloudfront/aws"
  version = "~> 3.4"

  comment             = "${local.name} edge"
  enabled             = true
  is_ipv6_enabled     = true
  http_version        = "http2and3"
  price_class         = var.cloudfront_price_class
  retain_on_delete    = false
  wait_for_deployment = false

  origin = {
    api = {
      domain_name = trimsuffix(replace(module.api_gateway.api_endpoint, "https://", ""), "/")
      custom_origin_config = {
        http_port              = 80
        https_port             = 443
        origin_protocol_policy = "https-only"
        origin_ssl_protocols   = ["TLSv1.2"]
      }
    }
  }

  default_cache_behavior = {
    target_origin_id           = "api"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    use_forwarded_values       = false
    cache_policy_id            = data.aws_cloudfront_cache_policy.disabled.id
    origin_request_policy_id   = data.aws_cloudfront_origin_request_policy.all_viewer_except_host.id
    response_headers_policy_id = data.aws_cloudfront_response_headers_policy.security_headers.id
  }

  viewer_certificate = {
    cloudfront_default_certificate = true
    minimum_protocol_version       = "TLSv1.2_2021"
  }
}
