################################################################################
# CloudWatch: the seed's CPU band (> 70% scale-up pressure, < 30% over-provisioned) on the node group,
# data-store and edge health alarms, one dashboard; optional Amazon Managed Prometheus.
################################################################################

resource "aws_sns_topic" "alarms" {
  name              = "${local.name}-alarms"
  kms_master_key_id = "alias/aws/sns"
}

resource "aws_sns_topic_subscription" "email" {
  count     = var.alarm_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  node_asg_name = module.eks.eks_managed_node_groups["default"].node_group_autoscaling_group_names[0]
  alb_dimension = module.alb.arn_suffix
  alarm_actions = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "nodes_cpu_high" {
  alarm_name          = "${local.name}-nodes-cpu-high"
  alarm_description   = "Node group CPU above ${var.cpu_high_threshold}% for 3 minutes: HPAs/cluster autoscaler should be adding capacity."
  namespace           = "AWS/EC2"
  metric_name         = "CPUUtilization"
  dimensions          = { AutoScalingGroupName = local.node_asg_name }
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 3
  threshold           = var.cpu_high_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "nodes_cpu_low" {
  alarm_name          = "${local.name}-nodes-cpu-low"
  alarm_description   = "Node group CPU below ${var.cpu_low_threshold}% for 15 minutes: capacity should be scaling in."
  namespace           = "AWS/EC2"
  metric_name         = "CPUUtilization"
  dimensions          = { AutoScalingGroupName = local.node_asg_name }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  threshold           = var.cpu_low_threshold
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "rds_cpu_high" {
  alarm_name          = "${local.name}-rds-cpu-high"
  alarm_description   = "RDS PostgreSQL CPU above ${var.cpu_high_threshold}%."
  namespace           = "AWS/RDS"
  metric_name         = "CPUUtilization"
  dimensions          = { DBInstanceIdentifier = module.postgres.db_instance_identifier }
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 5
  threshold           = var.cpu_high_threshold
  comparison_operator = "GreaterThanThreshold"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "redis_cpu_high" {
  alarm_name          = "${local.name}-redis-engine-cpu-high"
  alarm_description   = "Redis engine CPU above ${var.cpu_high_threshold}% (Redis is single-threaded: this is the real ceiling)."
  namespace           = "AWS/ElastiCache"
  metric_name         = "EngineCPUUtilization"
  dimensions          = { ReplicationGroupId = module.redis.replication_group_id }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  threshold           = var.cpu_high_threshold
  comparison_operator = "GreaterThanThreshold"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "alb_5xx" {
  alarm_name          = "${local.name}-targets-5xx"
  alarm_description   = "Services answered 5xx: degraded answers must be 200s, so any 5xx burst is an SLO risk."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HTTPCode_Target_5XX_Count"
  dimensions          = { LoadBalancer = local.alb_dimension }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 2
  threshold           = 50
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "alb_p95_latency" {
  alarm_name          = "${local.name}-targets-p95-latency"
  alarm_description   = "p95 target response time above 250 ms."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  dimensions          = { LoadBalancer = local.alb_dimension }
  extended_statistic  = "p95"
  period              = 60
  evaluation_periods  = 3
  threshold           = 0.25
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "api_throttled_or_5xx" {
  alarm_name          = "${local.name}-api-5xx"
  alarm_description   = "API Gateway 5xx (includes VPC link/integration failures)."
  namespace           = "AWS/ApiGateway"
  metric_name         = "5xx"
  dimensions          = { ApiId = module.api_gateway.api_id, Stage = "$default" }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 2
  threshold           = 50
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}

resource "aws_cloudwatch_dashboard" "main" {
  dashboard_name = local.name
  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title   = "Node CPU % (scale band ${var.cpu_low_threshold}-${var.cpu_high_threshold})"
          region  = var.region
          stat    = "Average"
          period  = 60
          metrics = [["AWS/EC2", "CPUUtilization", "AutoScalingGroupName", local.node_asg_name]]
          annotations = { horizontal = [
            { label = "scale up", value = var.cpu_high_threshold },
            { label = "scale in", value = var.cpu_low_threshold },
          ] }
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title   = "Requests per second (ALB)"
          region  = var.region
          stat    = "Sum"
          period  = 60
          metrics = [["AWS/ApplicationELB", "RequestCount", "LoadBalancer", local.alb_dimension]]
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title  = "Latency p50/p95/p99 (s)"
          region = var.region
          period = 60
          metrics = [
            ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", local.alb_dimension, { stat = "p50" }],
            ["...", { stat = "p95" }],
            ["...", { stat = "p99" }],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title  = "Errors: target 5xx, API 4xx (throttled) / 5xx"
          region = var.region
          stat   = "Sum"
          period = 60
          metrics = [
            ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", local.alb_dimension],
            ["AWS/ApiGateway", "4xx", "ApiId", module.api_gateway.api_id, "Stage", "$default"],
            ["AWS/ApiGateway", "5xx", "ApiId", module.api_gateway.api_id, "Stage", "$default"],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 12, width = 12, height = 6
        properties = {
          title  = "Data stores CPU %"
          region = var.region
          stat   = "Average"
          period = 60
          metrics = [
            ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", module.postgres.db_instance_identifier],
            ["AWS/ElastiCache", "EngineCPUUtilization", "ReplicationGroupId", module.redis.replication_group_id],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 12, width = 12, height = 6
        properties = {
          title  = "Healthy targets per service"
          region = var.region
          stat   = "Minimum"
          period = 60
          metrics = [
            for svc, _ in local.services :
            ["AWS/ApplicationELB", "HealthyHostCount", "TargetGroup", module.alb.target_groups[svc].arn_suffix, "LoadBalancer", local.alb_dimension]
          ]
        }
      },
    ]
  })
}

module "managed_prometheus" {
  source  = "terraform-aws-modules/managed-service-prometheus/aws"
  version = "~> 3.0"
  count   = var.enable_managed_prometheus ? 1 : 0

  workspace_alias = local.name
}

module "amp_irsa" {
  source  = "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks"
  version = "~> 5.44"
  count   = var.enable_managed_prometheus ? 1 : 0

  role_name                                        = "${local.name}-amp-ingest"
  attach_amazon_managed_service_prometheus_policy  = true
  amazon_managed_service_prometheus_workspace_arns = [module.managed_prometheus[0].workspace_arn]

  oidc_providers = {
    main = {
      provider_arn               = module.eks.oidc_provider_arn
      namespace_service_accounts = ["monitoring:kube-prometheus-stack-prometheus"]
    }
  }
}
