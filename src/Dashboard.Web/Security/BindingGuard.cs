using System.Net;

namespace Dashboard.Web.Security;

/// <summary>Refuses to start a dashboard that anyone on the network could drive.</summary>
public static class BindingGuard
{
    /// <summary>The addresses the host was told to listen on (<c>--urls</c>, <c>Urls</c>, <c>ASPNETCORE_URLS</c>, Kestrel endpoints).</summary>
    public static IReadOnlyList<string> ConfiguredUrls(IConfiguration configuration)
    {
        var urls = (configuration["urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        urls.AddRange(configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>());
        return urls;
    }

    public static bool IsLoopback(string url)
    {
        var host = url.Contains("://", StringComparison.Ordinal) ? url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..] : url;
        host = host.Split('/')[0];
        host = host.StartsWith('[') ? host[1..host.IndexOf(']', StringComparison.Ordinal)] : host.Split(':')[0];
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }

    /// <summary>Throws when a non-loopback address is configured without an access token, or the token is too weak.</summary>
    public static void Check(IConfiguration configuration, SecurityOptions security)
    {
        var token = security.AccessToken;
        if (token.Length > 0 && token.Length < SecurityOptions.MinTokenLength)
        {
            throw new InvalidOperationException($"Security:AccessToken must have at least {SecurityOptions.MinTokenLength} characters.");
        }

        var open = ConfiguredUrls(configuration).Where(u => !IsLoopback(u)).ToList();
        if (open.Count > 0 && token.Length == 0)
        {
            throw new InvalidOperationException(
                $"Refusing to listen on {string.Join(", ", open)} without authentication: this dashboard starts computation and serves files. "
                + "Set an access token (environment variable Security__AccessToken, at least 16 characters), or listen on 127.0.0.1 only.");
        }
    }
}
