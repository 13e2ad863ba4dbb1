namespace Dashboard.Web.Security;

/// <summary>Access control. Set the token with <c>Security__AccessToken</c> (environment) rather than in a file.</summary>
public sealed class SecurityOptions
{
    public const string Section = "Security";

    /// <summary>
    /// When set, every page, route and the hub need it: scripts send <c>Authorization: Bearer …</c>, browsers sign in
    /// once at <c>/login</c> and get a cookie. Required whenever the dashboard listens beyond the loopback interface.
    /// </summary>
    public string AccessToken { get; set; } = "";

    public const int MinTokenLength = 16;
}
