# shir-doctor: install-shir
<#
.SYNOPSIS
  Installs the Microsoft Integration Runtime on this machine and registers it as a node of a
  self-hosted integration runtime. Run by shir-doctor through Azure Run Command v2.

.DESCRIPTION
  Stages, each reported on stdout as one line `SHIR-DOCTOR stage=<name> status=<ok|failed> ...`:
    parameters, prerequisites, existing, download, signature, msi, locate, proxy, register,
    service, done.
  Exit codes (INSTALL_EXIT in source/wire/guest.ts):
    0 ok, 2 bad parameters, 3 prerequisites, 4 download failed, 5 signature invalid,
    6 msiexec failed (msiExit=<code> on the msi line), 7 registered to another runtime,
    8 registration failed, 9 DIAHostService not running.

  The authentication key arrives as a protected Run Command parameter. It is never written to
  the output, a transcript, a file or a log line; anything key-shaped in tool output is masked
  before it is printed.
#>
param(
  [Parameter(Mandatory = $false)] [string] $AuthKey = '',
  [Parameter(Mandatory = $false)] [string] $NodeName = '',
  [Parameter(Mandatory = $false)] [string] $ProxyUrl = '',
  [Parameter(Mandatory = $false)] [string] $MsiUrl = 'https://go.microsoft.com/fwlink/?linkid=839822'
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

# Old images negotiate TLS 1.0 by default and fail on Microsoft's download hosts (F09).
[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12

$Exit = @{
  Ok = 0; BadParameters = 2; Prerequisites = 3; DownloadFailed = 4; SignatureInvalid = 5
  MsiFailed = 6; RegisteredElsewhere = 7; RegistrationFailed = 8; ServiceNotRunning = 9
}
$ConfigKey = 'HKLM:\Software\Microsoft\DataTransfer\DataManagementGateway\ConfigurationManager'
$ServiceName = 'DIAHostService'

function Protect-Text([string] $Text) {
  # Masks anything shaped like an integration runtime key, and the key itself.
  if (-not $Text) { return '' }
  $masked = $Text -replace 'IR@[0-9a-fA-F-]{36}@[^@\s"'']+@ServiceEndpoint=[^@\s"'']+@[A-Za-z0-9+/=]+', '[redacted]'
  if ($AuthKey) { $masked = $masked.Replace($AuthKey, '[redacted]') }
  return $masked
}

function Write-Line([string] $Text) {
  # Straight to stdout, not the pipeline: a function's pipeline output is its return value, so
  # a Write-Output here would corrupt what Get-Installer and Test-ExistingRuntime return.
  [Console]::Out.WriteLine($Text)
}

function Write-Stage([string] $Stage, [string] $Status, [hashtable] $Fields = @{}) {
  $parts = @("SHIR-DOCTOR", "stage=$Stage", "status=$Status")
  foreach ($name in ($Fields.Keys | Sort-Object)) {
    $value = (Protect-Text ([string] $Fields[$name])) -replace '\s+', '_'
    $parts += "$name=$value"
  }
  Write-Line ($parts -join ' ')
}

function Stop-Install([string] $Stage, [int] $Code, [string] $Reason, [hashtable] $Fields = @{}) {
  $Fields['reason'] = $Reason
  Write-Stage $Stage 'failed' $Fields
  exit $Code
}

function Test-Parameters {
  if (-not $AuthKey) { Stop-Install 'parameters' $Exit.BadParameters 'AuthKey-missing' }
  if ($NodeName -notmatch '^[A-Za-z0-9][A-Za-z0-9_.-]{0,149}$') {
    Stop-Install 'parameters' $Exit.BadParameters 'NodeName-invalid'
  }
  if ($ProxyUrl -and -not [Uri]::IsWellFormedUriString($ProxyUrl, 'Absolute')) {
    Stop-Install 'parameters' $Exit.BadParameters 'ProxyUrl-invalid'
  }
  Write-Stage 'parameters' 'ok' @{ node = $NodeName; proxy = $(if ($ProxyUrl) { 'yes' } else { 'no' }) }
}

function Test-Prerequisites {
  if (-not [Environment]::Is64BitOperatingSystem) {
    Stop-Install 'prerequisites' $Exit.Prerequisites 'not-64-bit'
  }
  # .NET Framework 4.7.2 is release 461808 or later.
  $release = (Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full' -ErrorAction SilentlyContinue).Release
  if (-not $release -or $release -lt 461808) {
    Stop-Install 'prerequisites' $Exit.Prerequisites 'dotnet-4.7.2-missing' @{ release = "$release" }
  }
  $cores = (Get-CimInstance Win32_ComputerSystem).NumberOfLogicalProcessors
  Write-Stage 'prerequisites' 'ok' @{ cores = "$cores"; dotnet = "$release" }
}

function Get-Dmgcmd {
  $path = (Get-ItemProperty $ConfigKey -Name 'DiacmdPath' -ErrorAction SilentlyContinue).DiacmdPath
  if ($path -and (Test-Path $path)) { return $path }
  return $null
}

function Test-ExistingRuntime {
  # One machine hosts one runtime. shir-doctor inspects the VM before calling this script and
  # skips it when the node is already its own, so a registration found here belongs to another
  # runtime. Whether the installed runtime is registered is read, best effort, from the values
  # its configuration key holds once a node identity exists. Returns $true when the runtime is
  # installed (and unregistered), so the download and MSI can be skipped.
  $dmgcmd = Get-Dmgcmd
  $service = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
  if (-not $dmgcmd -or -not $service) {
    Write-Stage 'existing' 'ok' @{ installed = 'no' }
    return $false
  }
  $config = Get-ItemProperty $ConfigKey -ErrorAction SilentlyContinue
  $isRegistered = $false
  foreach ($name in @('NodeName', 'GatewayName', 'IsRegistered')) {
    $value = $config.$name
    if ($value -and "$value" -ne '0' -and "$value" -ne 'False') { $isRegistered = $true }
  }
  if ($isRegistered) {
    Stop-Install 'existing' $Exit.RegisteredElsewhere 'runtime-already-registered'
  }
  Write-Stage 'existing' 'ok' @{ installed = 'yes'; registered = 'no' }
  return $true
}

function Get-Installer {
  $target = Join-Path $env:TEMP 'shir-doctor-IntegrationRuntime.msi'
  $request = @{ Uri = $MsiUrl; OutFile = $target; UseBasicParsing = $true; MaximumRedirection = 5 }
  if ($ProxyUrl) { $request['Proxy'] = $ProxyUrl; $request['ProxyUseDefaultCredentials'] = $true }
  try {
    Invoke-WebRequest @request
  } catch {
    $message = $_.Exception.Message
    $reason = if ($message -match 'secure channel|SSL|TLS') { 'tls' } elseif ($message -match 'proxy') { 'proxy' } else { 'network' }
    Stop-Install 'download' $Exit.DownloadFailed $reason @{ detail = $message }
  }
  $size = (Get-Item $target).Length
  Write-Stage 'download' 'ok' @{ bytes = "$size" }
  return $target
}

function Test-Installer([string] $Path) {
  $signature = Get-AuthenticodeSignature -FilePath $Path
  $subject = if ($signature.SignerCertificate) { $signature.SignerCertificate.Subject } else { '' }
  if ($signature.Status -ne 'Valid' -or $subject -notmatch 'O=Microsoft Corporation') {
    Remove-Item $Path -Force -ErrorAction SilentlyContinue
    Stop-Install 'signature' $Exit.SignatureInvalid "$($signature.Status)" @{ signer = $subject }
  }
  Write-Stage 'signature' 'ok' @{ signer = 'Microsoft_Corporation' }
}

function Install-Runtime([string] $Path) {
  $log = Join-Path $env:TEMP 'shir-doctor-msi.log'
  $arguments = @('/i', "`"$Path`"", '/quiet', '/norestart', '/l*v', "`"$log`"")
  $process = Start-Process -FilePath 'msiexec.exe' -ArgumentList $arguments -Wait -PassThru
  $code = $process.ExitCode
  # 0 = success, 3010 = success but a restart is pending; everything else stops here.
  if ($code -ne 0 -and $code -ne 3010) {
    Stop-Install 'msi' $Exit.MsiFailed 'msiexec' @{ msiExit = "$code"; log = $log }
  }
  Write-Stage 'msi' 'ok' @{ msiExit = "$code" }
}

function Invoke-Dmgcmd([string] $Dmgcmd, [string[]] $Arguments, [string] $Stage, [int] $FailCode) {
  # The arguments may hold the key: they are passed directly, never echoed, and the tool's
  # output is masked before it is printed. Piping makes PowerShell wait for the tool.
  $ErrorActionPreference = 'Continue'
  $output = & $Dmgcmd @Arguments 2>&1 | Out-String
  $code = $LASTEXITCODE
  $clean = Protect-Text $output
  if ($clean.Trim()) { Write-Line $clean.Trim() }
  if ($code -ne 0) { Stop-Install $Stage $FailCode 'dmgcmd' @{ dmgcmdExit = "$code" } }
}

function Set-RuntimeProxy([string] $Dmgcmd) {
  # The runtime's host and worker processes read their proxy from <system.net><defaultProxy>
  # in diahost.exe.config and diawp.exe.config, next to dmgcmd.exe. Without it, registration
  # behind a proxy fails or the node stays offline (F19).
  $folder = Split-Path -Parent $Dmgcmd
  foreach ($file in @('diahost.exe.config', 'diawp.exe.config')) {
    $path = Join-Path $folder $file
    if (-not (Test-Path $path)) { continue }
    [xml] $config = Get-Content -Path $path -Raw
    $net = $config.configuration.SelectSingleNode('system.net')
    if (-not $net) { $net = $config.configuration.AppendChild($config.CreateElement('system.net')) }
    $old = $net.SelectSingleNode('defaultProxy')
    if ($old) { [void] $net.RemoveChild($old) }
    $default = $config.CreateElement('defaultProxy')
    $default.SetAttribute('useDefaultCredentials', 'true')
    $proxy = $config.CreateElement('proxy')
    $proxy.SetAttribute('proxyaddress', $ProxyUrl)
    $proxy.SetAttribute('bypassonlocal', 'true')
    [void] $default.AppendChild($proxy)
    [void] $net.AppendChild($default)
    $config.Save($path)
  }
  Restart-Service -Name $ServiceName -ErrorAction SilentlyContinue
  Write-Stage 'proxy' 'ok'
}

function Register-Node {
  $dmgcmd = $null
  for ($i = 0; $i -lt 12 -and -not $dmgcmd; $i++) {
    $dmgcmd = Get-Dmgcmd
    if (-not $dmgcmd) { Start-Sleep -Seconds 5 }
  }
  if (-not $dmgcmd) { Stop-Install 'locate' $Exit.RegistrationFailed 'DiacmdPath-missing' }
  Write-Stage 'locate' 'ok'

  if ($ProxyUrl) { Set-RuntimeProxy $dmgcmd }
  Invoke-Dmgcmd $dmgcmd @('-RegisterNewNode', $AuthKey, $NodeName) 'register' $Exit.RegistrationFailed
  Write-Stage 'register' 'ok' @{ node = $NodeName }
}

function Confirm-Service {
  for ($i = 0; $i -lt 24; $i++) {
    $service = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
    if ($service -and $service.Status -eq 'Running') {
      Write-Stage 'service' 'ok' @{ name = $ServiceName }
      return
    }
    if ($service -and $service.Status -eq 'Stopped') { Start-Service -Name $ServiceName -ErrorAction SilentlyContinue }
    Start-Sleep -Seconds 5
  }
  Stop-Install 'service' $Exit.ServiceNotRunning 'not-running' @{ name = $ServiceName }
}

try {
  Test-Parameters
  Test-Prerequisites
  $isInstalled = Test-ExistingRuntime
  if ($isInstalled) {
    Write-Stage 'msi' 'ok' @{ skipped = 'already-installed' }
  } else {
    $installer = Get-Installer
    Test-Installer $installer
    Install-Runtime $installer
    Remove-Item $installer -Force -ErrorAction SilentlyContinue
  }
  Register-Node
  Confirm-Service
  Write-Stage 'done' 'ok' @{ node = $NodeName }
  exit $Exit.Ok
} catch {
  # Unexpected failure: report the message, masked, without the parameters. Exit 1 is none of
  # the documented codes, so the caller reports it as an unexplained failure with this output.
  Write-Stage 'unexpected' 'failed' @{ detail = $_.Exception.Message }
  exit 1
}
