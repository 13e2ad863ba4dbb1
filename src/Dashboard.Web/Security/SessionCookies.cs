using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Dashboard.Runs.Options;
using Microsoft.Extensions.Options;

namespace Dashboard.Web.Security;

/// <summary>
/// The sign-in cookie: <c>v1.&lt;session id&gt;.&lt;expiry&gt;.&lt;mac&gt;</c>, a random session with its expiry, signed with
/// HMAC-SHA256 under a key derived from a server secret and the current access token. Not a function of the token
/// alone, so the cookie is no token equivalent: it expires on the server's clock, sign-out revokes that one session, and
/// a changed token changes the key, which signs every browser out. The secret (<c>session.key</c>) and the signed-out
/// sessions (<c>sessions-revoked</c>) live in the data folder, so that a restart neither ends sessions nor revives one.
/// </summary>
public sealed class SessionCookies
{
    public const string SecretFile = "session.key";

    public const string RevokedFile = "sessions-revoked";

    /// <summary>How long one sign-in lasts.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(30);

    /// <summary>
    /// Sign-outs remembered at once. Each needs a valid session, hence the token, yet a token holder could still sign in
    /// and out in a loop; past this many unexpired revocations the secret is replaced instead (everyone signs in again).
    /// </summary>
    public const int MaxRevoked = 10_000;

    private const string Version = "v1";

    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _revoked = new(StringComparer.Ordinal);
    private readonly string _token;
    private readonly string _secretPath;
    private readonly string _revokedPath;
    private byte[] _key;

    public SessionCookies(IOptions<SecurityOptions> security, IOptions<StorageOptions> storage)
    {
        _token = security.Value.AccessToken;
        _secretPath = Path.Combine(storage.Value.DataDirectoryPath, SecretFile);
        _revokedPath = Path.Combine(storage.Value.DataDirectoryPath, RevokedFile);
        _key = [];
        if (_token.Length > 0)
        {
            _key = DeriveKey(LoadOrCreateSecret(_secretPath, replace: false), _token);
            LoadRevoked();
        }
    }

    /// <summary>A new session's cookie value and its expiry.</summary>
    public (string Value, DateTimeOffset Expires) Issue()
    {
        var expires = DateTimeOffset.UtcNow.Add(Lifetime);
        var payload = $"{Version}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}.{expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}";
        return ($"{payload}.{Sign(payload)}", expires);
    }

    /// <summary>True for a cookie this server issued under the current token, not yet expired and not signed out.</summary>
    public bool IsValid(string? value) => Parse(value) is { } session && !_revoked.ContainsKey(session.Id);

    /// <summary>Ends the session of <paramref name="value"/> on the server, so a copy of the cookie stops working too.</summary>
    public void Revoke(string? value)
    {
        if (Parse(value) is not { } session)
        {
            return;
        }

        lock (_lock)
        {
            if (_revoked.Count >= MaxRevoked)
            {
                PruneExpired();
            }

            if (_revoked.Count >= MaxRevoked)
            {
                // Fail closed: a new secret invalidates every session, the revoked ones included, so none is forgotten.
                _key = DeriveKey(LoadOrCreateSecret(_secretPath, replace: true), _token);
                _revoked.Clear();
                File.Delete(_revokedPath);
                return;
            }

            if (_revoked.TryAdd(session.Id, session.Expires))
            {
                File.AppendAllText(_revokedPath, Line(session.Id, session.Expires));
            }
        }
    }

    private static string Line(string id, DateTimeOffset expires) =>
        $"{id} {expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}\n";

    /// <summary>Reads the sessions signed out before this start that have not expired yet, and rewrites the file with those only.</summary>
    private void LoadRevoked()
    {
        if (!File.Exists(_revokedPath))
        {
            return;
        }

        foreach (var line in File.ReadLines(_revokedPath))
        {
            var parts = line.Split(' ');
            if (parts.Length == 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var unix)
                && unix <= DateTimeOffset.MaxValue.ToUnixTimeSeconds() && _revoked.Count < MaxRevoked)
            {
                _revoked[parts[0]] = DateTimeOffset.FromUnixTimeSeconds(unix);
            }
        }

        PruneExpired();
    }

    /// <summary>Forgets revocations of sessions that have expired anyway, in memory and in the file.</summary>
    private void PruneExpired()
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var (id, expires) in _revoked)
        {
            if (expires <= now)
            {
                _revoked.TryRemove(id, out _);
            }
        }

        var temporary = $"{_revokedPath}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(temporary, string.Concat(_revoked.Select(r => Line(r.Key, r.Value))));
        File.Move(temporary, _revokedPath, overwrite: true);
    }

    private (string Id, DateTimeOffset Expires)? Parse(string? value)
    {
        if (_token.Length == 0 || value is null)
        {
            return null;
        }

        var parts = value.Split('.');
        if (parts.Length != 4 || parts[0] != Version
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var unix) || unix > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            return null;
        }

        var expected = Encoding.ASCII.GetBytes(Sign(value[..value.LastIndexOf('.')]));
        if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(parts[3])))
        {
            return null;
        }

        var expires = DateTimeOffset.FromUnixTimeSeconds(unix);
        return expires > DateTimeOffset.UtcNow ? (parts[1], expires) : null;
    }

    private string Sign(string payload)
    {
        byte[] key;
        lock (_lock)
        {
            key = _key;
        }

        return Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(payload)));
    }

    private static byte[] DeriveKey(byte[] secret, string token) =>
        HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes("dashboard-session-key:" + token));

    private static byte[] LoadOrCreateSecret(string path, bool replace)
    {
        if (!replace && File.Exists(path) && File.ReadAllBytes(path) is { Length: 32 } existing)
        {
            return existing;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var secret = RandomNumberGenerator.GetBytes(32);
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var file = new FileStream(temporary, options))
        {
            file.Write(secret);
            file.Flush(flushToDisk: true);
        }

        // Renamed into place whole, so a crash never leaves a short secret that would be replaced at the next start.
        File.Move(temporary, path, overwrite: true);
        return secret;
    }
}
