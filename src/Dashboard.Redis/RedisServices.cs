using Microsoft.Extensions.Configuration;

namespace Dashboard.Redis;

public static class RedisServices
{
    public const string ConnectionStringName = "Redis";

    /// <summary>
    /// With <c>ConnectionStrings:Redis</c> set, relays training events between this process and every other one on the
    /// same Redis; returns the link (for the host's other Redis uses), or null when the setting is empty and everything
    /// stays in-process.
    /// </summary>
    public static RedisLink? AddDashboardRedis(this IServiceCollection services, IConfiguration configuration)
    {
        if (configuration.GetConnectionString(ConnectionStringName) is not { Length: > 0 } connectionString)
        {
            return null;
        }

        try
        {
            RedisLink.Options(connectionString);
        }
        catch (ArgumentException e)
        {
            // The string itself is not repeated: it may hold a password.
            throw new InvalidOperationException($"ConnectionStrings:{ConnectionStringName} is not a Redis configuration string: {e.Message}", e);
        }

        var link = new RedisLink(connectionString);
        services.AddSingleton(link);
        services.AddHostedService<RedisEventRelay>();
        return link;
    }
}
