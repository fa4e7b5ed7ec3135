# shir-doctor: inspect-runtime
<#
.SYNOPSIS
  Reports whether this machine already runs the Microsoft Integration Runtime, and what it is
  registered to, so shir-doctor never installs a second runtime on one machine (F06).

.DESCRIPTION
  Prints one line:
    SHIR-DOCTOR runtime installed=<yes|no> service=<Running|Stopped|missing> registeredTo=<name|unknown|none> version=<v|unknown>
  `registeredTo` is read from the runtime's configuration when it records the integration
  runtime's name; `unknown` means installed and registered but the name is not recorded where
  this script looks; `none` means not registered. Reads only; changes nothing; exits 0.
#>
param()

$ErrorActionPreference = 'SilentlyContinue'
$ConfigKey = 'HKLM:\Software\Microsoft\DataTransfer\DataManagementGateway\ConfigurationManager'

function Format-Value([string] $Value) {
  if (-not $Value) { return 'unknown' }
  return ($Value -replace '\s+', '_')
}

$config = Get-ItemProperty $ConfigKey
$dmgcmd = $config.DiacmdPath
$service = Get-Service -Name 'DIAHostService'
$installed = if ($dmgcmd -and (Test-Path $dmgcmd)) { 'yes' } else { 'no' }
$serviceState = if ($service) { "$($service.Status)" } else { 'missing' }

$registeredTo = 'none'
$version = 'unknown'
if ($installed -eq 'yes') {
  $version = Format-Value (Get-Item $dmgcmd).VersionInfo.ProductVersion
  $name = $null
  foreach ($field in @('IntegrationRuntimeName', 'GatewayName')) {
    if ($config.$field) { $name = "$($config.$field)"; break }
  }
  $isRegistered = [bool] ($name -or $config.NodeName -or ($config.IsRegistered -and "$($config.IsRegistered)" -ne '0'))
  if ($name) { $registeredTo = Format-Value $name }
  elseif ($isRegistered) { $registeredTo = 'unknown' }
}

Write-Output "SHIR-DOCTOR runtime installed=$installed service=$serviceState registeredTo=$registeredTo version=$version"
exit 0
