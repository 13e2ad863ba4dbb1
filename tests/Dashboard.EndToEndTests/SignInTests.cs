using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Dashboard.ServerProcess;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Dashboard.EndToEndTests;

/// <summary>
/// A browser on a dashboard with an access token: sign in through the form, get a live page (its circuit's WebSocket
/// within the content security policy), sign out with the top bar's button.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class SignInTests(BrowserFixture fixture)
{
    private const string Token = "end-to-end-token-0123456789";

    [Fact]
    public async Task SignOutButton_SignedInOnALivePage_EndsTheSessionAndBackToLogin()
    {
        await using var server = await DashboardServer.StartAsync(new Dictionary<string, string> { ["Security:AccessToken"] = Token, ["Training:Device"] = "cpu" });
        await using var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = server.BaseAddress.ToString() });
        context.SetDefaultTimeout(60_000);
        var page = await context.NewPageAsync();
        var refused = new ConcurrentQueue<string>();
        var sockets = new ConcurrentQueue<string>();
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase))
            {
                refused.Enqueue(message.Text);
            }
        };
        page.WebSocket += (_, socket) => sockets.Enqueue(socket.Url);

        await page.GotoAsync("runs/new");
        await Expect(page).ToHaveURLAsync(new Regex("/login\\?returnUrl="));
        await page.Locator("input[name=token]").FillAsync(Token);
        await page.Locator("button[type=submit]").ClickAsync();
        await page.WaitForURLAsync("**/runs/new");

        // The circuit comes up over a WebSocket to this origin, which the policy's connect-src 'self' allows.
        await page.WaitForFunctionAsync("() => document.body.innerHTML.includes('<!--!-->')");
        Assert.Contains(sockets, url => url.Contains("/_blazor", StringComparison.Ordinal));
        Assert.Empty(refused);

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();

        try
        {
            // Arriving is what counts, not the login page's load event: in one clean-clone CI run (2026-12-05) the URL
            // was already /login and the wait then timed out on the load state ("NetworkIdle" fired, "load" never came).
            await page.WaitForURLAsync("**/login", new() { WaitUntil = WaitUntilState.Commit });
        }
        catch (TimeoutException e)
        {
            // Say where the browser was left (a 400 from /logout would mean the antiforgery field was refused; the run
            // page would mean the form never posted), so a next occurrence shows which.
            var body = await page.InnerTextAsync("body");
            throw new TimeoutException($"Sign-out did not reach /login; the browser is at {page.Url}, showing: {body[..Math.Min(body.Length, 400)]}", e);
        }

        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == "dashboard_access");
        await page.GotoAsync("runs/new");
        await Expect(page).ToHaveURLAsync(new Regex("/login\\?returnUrl="));
    }
}
