namespace Dashboard.UnitTests.Architecture;

/// <summary>The layering rules over small made-up trees: each kind of dependency is seen, and comments and strings are not.</summary>
public sealed class LayeringRulesTests
{
    private static SourceTree Tree(params (string Path, string Text)[] files) =>
        new(files.Select(f => SourceFile.Parse(f.Path, f.Text)));

    [Fact]
    public void NamespaceCycles_ChildNamesParentTypeWithoutUsing_ReportsCycle()
    {
        var tree = Tree(
            ("src/Dashboard.Engine/Training/Trainer.cs", """
                using Dashboard.Engine.Training.Optimizers;
                namespace Dashboard.Engine.Training;
                public sealed class Trainer { OptimizerFactory F; }
                """),
            ("src/Dashboard.Engine/Training/Optimizers/OptimizerFactory.cs", """
                namespace Dashboard.Engine.Training.Optimizers;
                public static class OptimizerFactory { static Trainer Make() => null!; }
                """));

        var cycle = Assert.Single(LayerRules.NamespaceCycles(tree));

        Assert.Contains("Dashboard.Engine.Training.Optimizers -> Dashboard.Engine.Training", cycle);
        Assert.Contains("names Trainer, declared in the enclosing Dashboard.Engine.Training", cycle);
    }

    [Fact]
    public void NamespaceCycles_QualifiedNames_ReportsCycle()
    {
        var tree = Tree(
            ("src/Dashboard.Runs/Checkpoints/CheckpointService.cs", """
                namespace Dashboard.Runs.Checkpoints;
                public sealed class CheckpointService { Management.RunService R; }
                """),
            ("src/Dashboard.Runs/Management/RunService.cs", """
                namespace Dashboard.Runs.Management;
                public sealed class RunService { global::Dashboard.Runs.Checkpoints.CheckpointService C; }
                """));

        var cycle = Assert.Single(LayerRules.NamespaceCycles(tree));

        Assert.Contains("qualified name Management.RunService", cycle);
        Assert.Contains("qualified name Dashboard.Runs.Checkpoints.CheckpointService", cycle);
    }

    [Fact]
    public void NamespaceCycles_NamesOnlyInCommentsAndStrings_NoCycle()
    {
        var tree = Tree(
            ("src/Dashboard.Runs/Checkpoints/CheckpointService.cs", """
                using Dashboard.Runs.Management;
                namespace Dashboard.Runs.Checkpoints;
                public sealed class CheckpointService { RunService R; }
                """),
            ("src/Dashboard.Runs/Management/RunService.cs", """
                namespace Dashboard.Runs.Management;
                // Dashboard.Runs.Checkpoints.CheckpointService saves them.
                /* CheckpointService */
                public sealed class RunService { string S = "Checkpoints.CheckpointService"; string V = @"x "" Checkpoints.CheckpointService"; }
                """));

        Assert.Empty(LayerRules.NamespaceCycles(tree));
        Assert.Single(tree.Dependencies());
    }

    [Fact]
    public void UpwardReferencesInCode_CoreUsingWebAndAspNet_ReportsBoth()
    {
        var tree = Tree(
            ("src/Dashboard.Runs/Execution/RunLauncher.cs", """
                using Microsoft.AspNetCore.Http;
                namespace Dashboard.Runs.Execution;
                public sealed class RunLauncher { Dashboard.Web.Hubs.TrainingHub H; }
                """),
            ("src/Dashboard.Web/Hubs/TrainingHub.cs", """
                namespace Dashboard.Web.Hubs;
                public sealed class TrainingHub { }
                """));

        var violations = LayerRules.UpwardReferencesInCode(tree).ToList();

        Assert.Contains(violations, v => v.Contains("using Microsoft.AspNetCore.Http", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Contains("Dashboard.Web.Hubs.TrainingHub", StringComparison.Ordinal));
    }

    [Fact]
    public void UpwardReferencesInCode_EngineUsingData_Reported()
    {
        var tree = Tree(
            ("src/Dashboard.Engine/Checkpoints/CheckpointStore.cs", """
                using Dashboard.Data.Entities;
                namespace Dashboard.Engine.Checkpoints;
                public sealed class CheckpointStore { Checkpoint C; }
                """),
            ("src/Dashboard.Data/Entities/Checkpoint.cs", """
                namespace Dashboard.Data.Entities;
                public sealed class Checkpoint { }
                """));

        var violation = Assert.Single(LayerRules.UpwardReferencesInCode(tree));

        Assert.Equal("src/Dashboard.Engine/Checkpoints/CheckpointStore.cs:1: using Dashboard.Data.Entities (Dashboard.Engine must not use Dashboard.Data)", violation);
    }

    [Fact]
    public void ComponentImports_EntitiesViaImportsAndEngineTraining_ReportedButConfigurationAllowed()
    {
        var tree = Tree(
            ("src/Dashboard.Web/Components/_Imports.razor", "@using Dashboard.Data.Entities\n@using Dashboard.Engine.Policies\n"),
            ("src/Dashboard.Web/Components/Pages/NewRun.razor", "@using Dashboard.Engine.Configuration\n@using Dashboard.Engine.Training.Optimizers\n<p>@* @using Dashboard.Engine.Models *@</p>\n"));

        var violations = LayerRules.ComponentImports(tree).ToList();

        Assert.Equal(
            ["src/Dashboard.Web/Components/Pages/NewRun.razor:2: using Dashboard.Engine.Training.Optimizers", "src/Dashboard.Web/Components/_Imports.razor:1: using Dashboard.Data.Entities"],
            violations.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Parse_RazorComponentInFolder_TakesFolderNamespaceAndComponentType()
    {
        var file = SourceFile.Parse("src/Dashboard.Web/Components/Controls/StatusBadge.razor", "<span>@Status</span>\n");

        Assert.Equal("Dashboard.Web.Components.Controls", file.Namespace);
        Assert.Contains("StatusBadge", file.DeclaredTypes);
    }
}
