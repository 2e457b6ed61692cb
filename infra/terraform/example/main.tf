# Managing fleetnet NetworkPolicies and the fleet's EncryptionSettings with the generic REST provider
# (Mastercard/restapi). fleetnet's PUT is create-or-replace and idempotent, so create and update are the same
# call: PUT /networkpolicies/{metadata.name} with the whole resource. See README.md next to this file.

terraform {
  required_version = ">= 1.5"
  required_providers {
    restapi = {
      source = "Mastercard/restapi"
      # 1.x/2.x keep `data` as a plain JSON string and ignore server-added fields (metadata.generation,
      # resourceVersion, createdAt, status). 3.x changed that; see README.md before upgrading.
      version = ">= 1.19.1, < 3.0.0"
    }
  }
}

variable "fleetnet_api" {
  description = "fleetnet API base URL: the apiBaseUrl output of infra/azure/main.bicep, e.g. https://fleetnet-api-xxxx.azurewebsites.net/api"
  type        = string
}

variable "fleetnet_token" {
  description = "An Entra access token for the fleetnet API with the Fleet.Admin role (e.g. TF_VAR_fleetnet_token=$(az account get-access-token --scope api://<appId>/.default --query accessToken -o tsv)). Leave null to use the client-credentials flow below."
  type        = string
  default     = null
  sensitive   = true
}

variable "tenant_id" {
  description = "Entra tenant id (client-credentials flow only)."
  type        = string
  default     = ""
}

variable "client_id" {
  description = "Client id of the pipeline's app registration, which holds the Fleet.Admin app role (client-credentials flow only)."
  type        = string
  default     = ""
}

variable "client_secret" {
  description = "Its client secret (client-credentials flow only; pass through TF_VAR_client_secret, never commit it)."
  type        = string
  default     = null
  sensitive   = true
}

variable "api_app_id_uri" {
  description = "Application ID URI of the fleetnet API app registration, e.g. api://<appId>."
  type        = string
  default     = ""
}

provider "restapi" {
  uri                  = var.fleetnet_api
  write_returns_object = true # PUT returns the stored resource (201 created, 200 replaced or unchanged)
  id_attribute         = "metadata/name"
  create_method        = "PUT"
  update_method        = "PUT"
  destroy_method       = "DELETE"

  # Either a token from the environment (az CLI, a pipeline's federated credential, ...) ...
  headers = var.fleetnet_token == null ? { "Content-Type" = "application/json" } : {
    "Content-Type"  = "application/json"
    "Authorization" = "Bearer ${var.fleetnet_token}"
  }

  # ... or the provider fetches one itself with the OAuth2 client-credentials flow against Entra ID.
  dynamic "oauth_client_credentials" {
    for_each = var.fleetnet_token == null ? [1] : []
    content {
      oauth_client_id      = var.client_id
      oauth_client_secret  = var.client_secret
      oauth_token_endpoint = "https://login.microsoftonline.com/${var.tenant_id}/oauth2/v2.0/token"
      oauth_scopes         = ["${var.api_app_id_uri}/.default"]
    }
  }
}

# One fleet policy. Everything under spec except targets/mode is a CiliumNetworkPolicy spec copied unchanged
# (here Cilium's getting-started "l7-rule": only clients labelled id=goodclient may GET /public on port 8181).
resource "restapi_object" "web_server_l7" {
  path        = "/networkpolicies"
  create_path = "/networkpolicies/{id}" # PUT, not POST on the collection: the name is the id
  data = jsonencode({
    apiVersion = "fleetnet.io/v1"
    kind       = "NetworkPolicy"
    metadata = {
      name   = "web-server-l7"
      labels = { owner = "platform-security" }
    }
    spec = {
      targets = { clusterSelector = { matchLabels = { env = "prod" } } }
      mode    = "enforce"
      endpointSelector = { matchLabels = { id = "web-server" } }
      ingress = [{
        fromEndpoints = [{ matchLabels = { id = "goodclient" } }]
        toPorts = [{
          ports = [{ port = "8181", protocol = "TCP" }]
          rules = { http = [{ method = "GET", path = "/public" }] }
        }]
      }]
    }
  })
}

# The fleet's encryption settings: a singleton at /encryptionsettings whose metadata.name must be "fleet".
resource "restapi_object" "encryption" {
  path         = "/encryptionsettings"
  create_path  = "/encryptionsettings"
  read_path    = "/encryptionsettings"
  update_path  = "/encryptionsettings"
  destroy_path = "/encryptionsettings"
  data = jsonencode({
    apiVersion = "fleetnet.io/v1"
    kind       = "EncryptionSettings"
    metadata   = { name = "fleet" }
    spec = {
      default = {
        enabled        = true
        type           = "wireguard"
        nodeEncryption = false
      }
      overrides = [{
        name            = "pci-strict"
        clusterSelector = { matchLabels = { compliance = "pci" } }
        settings = {
          nodeEncryption = true
          strictMode = {
            egress  = { enabled = true, cidr = "10.0.0.0/8", allowRemoteNodeIdentities = false }
            ingress = { enabled = true }
          }
        }
      }]
    }
  })
}

output "policy_generation" {
  description = "Generation of the policy as stored (unchanged by an apply that sends the same body)."
  value       = jsondecode(restapi_object.web_server_l7.api_response).metadata.generation
}
