using Hangfire;
using Hangfire.Dashboard;

namespace Dashboard.Web.Security;

/// <summary>The job engine's own dashboard for operators, at <c>/jobs</c>, behind the dashboard's sign-in.</summary>
public static class JobsDashboard
{
    public const string Path = "/jobs";

    public static void MapJobsDashboard(this WebApplication app) =>
        app.UseHangfireDashboard(Path, new DashboardOptions
        {
            Authorization = [new SignedInFilter()],
            DashboardTitle = "Dashboard jobs",
            AppPath = "/",
        });

    /// <summary>
    /// Replaces the engine's default (local requests only) with the dashboard's own rule: whoever
    /// <see cref="AccessTokenMiddleware"/> let in as signed in. Without an access token everyone reaching the port is,
    /// as for every other page; with one, a request without it never gets here as signed in and is refused.
    /// </summary>
    private sealed class SignedInFilter : IDashboardAuthorizationFilter
    {
        public bool Authorize(DashboardContext context) => AccessTokenMiddleware.IsSignedIn(context.GetHttpContext());
    }
}
