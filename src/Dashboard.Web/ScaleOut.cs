using Dashboard.Redis;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.SignalR;
using StackExchange.Redis;

namespace Dashboard.Web;

/// <summary>
/// What lets several web instances serve one dashboard when <c>ConnectionStrings:Redis</c> is set: training events from
/// every process (the relay), hub groups across instances (the SignalR backplane), and one Data Protection key ring
/// under one application name, so antiforgery tokens and Blazor's protected state issued by one instance are read by
/// another. Without the setting nothing here is added and the dashboard runs as one process.
/// </summary>
public static class ScaleOut
{
    public const string ApplicationName = "Dashboard";

    public static readonly RedisKey DataProtectionKeys = "dashboard:data-protection-keys";

    public static void AddScaleOut(this WebApplicationBuilder builder, ISignalRServerBuilder signalR)
    {
        if (builder.Services.AddDashboardRedis(builder.Configuration) is not { } link)
        {
            return;
        }

        var connectionString = builder.Configuration.GetConnectionString(RedisServices.ConnectionStringName)!;
        signalR.AddStackExchangeRedis(options =>
        {
            options.Configuration = RedisLink.Options(connectionString);
            options.Configuration.ChannelPrefix = RedisChannel.Literal("dashboard-signalr");
        });
        builder.Services.AddDataProtection()
            .SetApplicationName(ApplicationName)
            .PersistKeysToStackExchangeRedis(() => link.Connect().GetDatabase(), DataProtectionKeys);
    }
}
