# shir-doctor: probe-egress
<#
.SYNOPSIS
  Tests, from this machine, whether each host a self-hosted integration runtime needs can be
  reached. Run by shir-doctor through Azure Run Command v2 before it installs anything.

.DESCRIPTION
  For each `host:port` in -Hosts (comma-separated) prints one line
    SHIR-DOCTOR probe host=<host> port=<port> result=<ok|dns-failed|tcp-failed|tls-failed|proxy-required> ms=<n>
  Without a proxy: resolve the name, open TCP, then complete a TLS 1.2 handshake (port 443).
  With -ProxyUrl: send an HTTPS request through the proxy. When the direct attempt fails but
  the proxy works, or no proxy was given and the direct path is closed while a system proxy
  is configured, the result is proxy-required. Always exits 0: results are in the lines.
#>
param(
  [Parameter(Mandatory = $false)] [string] $Hosts = '',
  [Parameter(Mandatory = $false)] [string] $ProxyUrl = ''
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
$TimeoutMs = 8000

function Write-Probe([string] $HostName, [int] $Port, [string] $Result, [long] $Ms) {
  Write-Output "SHIR-DOCTOR probe host=$HostName port=$Port result=$Result ms=$Ms"
}

function Test-Dns([string] $HostName) {
  try { [void] [Net.Dns]::GetHostAddresses($HostName); return $true } catch { return $false }
}

function Test-Tcp([string] $HostName, [int] $Port) {
  $client = New-Object Net.Sockets.TcpClient
  try {
    $task = $client.ConnectAsync($HostName, $Port)
    return ($task.Wait($TimeoutMs) -and $client.Connected)
  } catch {
    return $false
  } finally {
    $client.Dispose()
  }
}

function Test-Tls([string] $HostName, [int] $Port) {
  $client = New-Object Net.Sockets.TcpClient
  try {
    $client.Connect($HostName, $Port)
    $stream = New-Object Net.Security.SslStream($client.GetStream(), $false)
    $stream.ReadTimeout = $TimeoutMs
    $stream.AuthenticateAsClient($HostName, $null, [Security.Authentication.SslProtocols]::Tls12, $true)
    return $stream.IsAuthenticated
  } catch {
    return $false
  } finally {
    $client.Dispose()
  }
}

function Test-ViaProxy([string] $HostName, [int] $Port, [string] $Proxy) {
  # An HTTP answer from the host (even 404) proves the proxy carried the connection to it.
  $scheme = if ($Port -eq 80) { 'http' } else { 'https' }
  try {
    $request = [Net.HttpWebRequest]::Create("${scheme}://${HostName}:${Port}/")
    $request.Proxy = New-Object Net.WebProxy($Proxy)
    $request.Proxy.UseDefaultCredentials = $true
    $request.Timeout = $TimeoutMs
    $request.Method = 'HEAD'
    $response = $request.GetResponse()
    $response.Close()
    return 'ok'
  } catch [Net.WebException] {
    $status = $_.Exception.Status
    $response = $_.Exception.Response
    if ($response) {
      # 407: the proxy wants other credentials; 502-504: the proxy could not reach the host.
      # Any other answer came from the host itself, so the path works.
      $code = [int] $response.StatusCode
      $response.Close()
      if ($code -eq 407) { return 'proxy-required' }
      if ($code -ge 502 -and $code -le 504) { return 'tcp-failed' }
      return 'ok'
    }
    if ($status -eq 'NameResolutionFailure' -or $status -eq 'ProxyNameResolutionFailure') { return 'dns-failed' }
    if ($status -eq 'SecureChannelFailure' -or $status -eq 'TrustFailure') { return 'tls-failed' }
    return 'tcp-failed'
  } catch {
    return 'tcp-failed'
  }
}

function Test-Direct([string] $HostName, [int] $Port) {
  if (-not (Test-Dns $HostName)) { return 'dns-failed' }
  if (-not (Test-Tcp $HostName $Port)) { return 'tcp-failed' }
  if ($Port -eq 443 -and -not (Test-Tls $HostName $Port)) { return 'tls-failed' }
  return 'ok'
}

function Get-SystemProxy([string] $HostName, [int] $Port) {
  $uri = [Uri] "https://${HostName}:${Port}/"
  $proxy = [Net.WebRequest]::GetSystemWebProxy().GetProxy($uri)
  if ($proxy -and $proxy.Host -ne $uri.Host) { return $proxy.AbsoluteUri }
  return $null
}

function Test-Host([string] $HostName, [int] $Port) {
  if ($ProxyUrl) { return Test-ViaProxy $HostName $Port $ProxyUrl }

  $direct = Test-Direct $HostName $Port
  if ($direct -eq 'ok' -or $direct -eq 'dns-failed') { return $direct }
  $system = Get-SystemProxy $HostName $Port
  if ($system -and (Test-ViaProxy $HostName $Port $system) -eq 'ok') { return 'proxy-required' }
  return $direct
}

if (-not $Hosts) {
  Write-Output 'SHIR-DOCTOR stage=parameters status=failed reason=Hosts-missing'
  exit 2
}

foreach ($entry in ($Hosts -split ',')) {
  $item = $entry.Trim()
  if (-not $item) { continue }
  $parts = $item -split ':'
  $hostName = $parts[0].ToLowerInvariant()
  $port = if ($parts.Count -gt 1) { [int] $parts[1] } else { 443 }
  $watch = [Diagnostics.Stopwatch]::StartNew()
  $result = Test-Host $hostName $port
  Write-Probe $hostName $port $result $watch.ElapsedMilliseconds
}
exit 0
