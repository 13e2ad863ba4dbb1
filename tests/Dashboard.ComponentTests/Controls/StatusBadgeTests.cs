using Bunit;
using Dashboard.Data.Entities;
using Dashboard.Web.Components.Controls;

namespace Dashboard.ComponentTests.Controls;

public sealed class StatusBadgeTests : BunitContext
{
    public static TheoryData<string> Statuses => [.. RunStatus.All];

    [Theory]
    [MemberData(nameof(Statuses))]
    public void Render_Status_ShowsTheStatusWithItsBadgeClass(string status)
    {
        var cut = Render<StatusBadge>(parameters => parameters.Add(b => b.Status, status));

        var badge = cut.Find("span");
        Assert.Equal(status, badge.TextContent);
        Assert.Equal(["badge", $"badge-{status}"], badge.ClassList);
        Assert.Equal(status, badge.GetAttribute("data-status"));
    }
}
