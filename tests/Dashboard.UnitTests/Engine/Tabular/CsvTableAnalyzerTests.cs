using System.Text;
using Dashboard.Engine.Datasets.Tabular;
using Dashboard.Plugins;
using Dashboard.UnitTests.Support;

namespace Dashboard.UnitTests.Engine.Tabular;

public sealed class CsvTableAnalyzerTests
{
    private static TableDescription Analyze(string csv, string target, string? task = null, bool impute = false, IReadOnlyList<string>? features = null, CsvTableLimits? limits = null) =>
        Analyze(Encoding.UTF8.GetBytes(csv), target, task, impute, features, limits);

    private static TableDescription Analyze(byte[] csv, string target, string? task = null, bool impute = false, IReadOnlyList<string>? features = null, CsvTableLimits? limits = null) =>
        CsvTableAnalyzer.Analyze(new MemoryStream(csv), "hash", new CsvTableRequest("t", target, task, features, impute), limits ?? new CsvTableLimits());

    [Fact]
    public void Analyze_HousePrices_TypesColumnsAndGuessesRegression()
    {
        var table = HousePrices.Describe(HousePrices.Csv(), features: ["x1", "x2", "city"]);

        Assert.Equal(TaskKinds.Regression, table.Task);
        Assert.Equal(600, table.Rows);
        Assert.Equal(["numeric", "numeric", "categorical"], table.Features.Select(f => f.Kind));
        Assert.Equal(["east", "north", "south"], table.Features[2].Categories);
        Assert.Equal(5, table.FeatureWidth);
        Assert.Equal(1, table.ClassCount);
    }

    [Fact]
    public void Analyze_TextTargetOrFewIntegerClasses_GuessesClassification()
    {
        var text = HousePrices.Describe(HousePrices.Csv(), target: "band", features: ["x1", "x2", "city"]);
        var integers = Analyze("a,b,label\n1,2,0\n2,3,1\n3,4,2\n4,5,1\n", "label");

        Assert.Equal(TaskKinds.Classification, text.Task);
        Assert.Equal(["high", "low", "mid"], text.Target.Categories);
        Assert.Equal(TaskKinds.Classification, integers.Task);
        Assert.Equal(["0", "1", "2"], integers.Target.Categories);
    }

    [Fact]
    public void EncodeFeatures_CategoricalColumn_IsOneHotInCategoryOrder()
    {
        var table = Analyze("size,colour,y\n1.5,red,1.0\n2.5,blue,2.5\n3,green,4.25\n", "y", TaskKinds.Regression);
        var sample = new float[table.FeatureWidth];

        TabularEncoder.EncodeFeatures(table, c => c == "size" ? "7" : "green", sample, "The row");

        Assert.Equal([7f, 0f, 1f, 0f], sample);
    }

    [Fact]
    public void Analyze_MissingCellWithoutImpute_IsRefusedNamingRowAndColumn()
    {
        var e = Assert.Throws<CsvTableException>(() => Analyze("a,b,y\n1,x,1.5\n2,,2.5\n", "y", TaskKinds.Regression));

        Assert.Contains("Row 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("'b'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EncodeFeatures_MissingCellsWithImpute_GetNaNForNumericAndTheModeForCategorical()
    {
        var table = Analyze("a,b,y\n1,x,1.5\n,x,2.5\n3,z,3.5\n4,,4.5\n", "y", TaskKinds.Regression, impute: true);
        var sample = new float[table.FeatureWidth];

        TabularEncoder.EncodeFeatures(table, _ => "", sample, "The row");

        Assert.Equal("x", table.Features[1].Mode);
        Assert.True(float.IsNaN(sample[0]));
        Assert.Equal([1f, 0f], sample[1..]);
    }

    [Theory]
    [InlineData("", "y", "empty")]
    [InlineData("a;b;y\n1;2;3\n", "y", "single column")]
    [InlineData("a,b,y\n1,2,3\n4,5\n", "y", "Row 2 has 2 cells")]
    [InlineData("a,b,y\n", "y", "no data rows")]
    [InlineData("a,b,y\n1,2,3\n", "price", "'price' is not a column")]
    [InlineData("a,a,y\n1,2,3\n", "y", "names column 'a' twice")]
    public void Analyze_BadFile_IsRefusedWithAMessageNamingTheProblem(string csv, string target, string expected)
    {
        var e = Assert.Throws<CsvTableException>(() => Analyze(csv, target));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Analyze_FeaturesNamingTheTarget_IsRefusedOnTheFeaturesField()
    {
        var e = Assert.Throws<CsvTableException>(() => Analyze("a,b,y\n1,2,3\n", "y", features: ["a", "y"]));

        Assert.Equal("features", e.Field);
    }

    [Fact]
    public void Analyze_TextInAColumnTypedNumericByTheSample_IsRefusedNamingRowAndColumn()
    {
        var csv = new StringBuilder("a,b,y\n");
        for (var i = 0; i < 5; i++)
        {
            csv.Append(i).Append(",k,").Append(i).Append(".5\n");
        }

        csv.Append("oops,k,9.5\n");

        var e = Assert.Throws<CsvTableException>(() => Analyze(csv.ToString(), "y", limits: new CsvTableLimits { TypeSampleRows = 3 }));

        Assert.Contains("Row 6, column 'a': 'oops' is not a number", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Analyze_ColumnWithTooManyCategories_IsRefusedNamingTheColumn()
    {
        var csv = new StringBuilder("id,x,y\n");
        for (var i = 0; i < 150; i++)
        {
            csv.Append('c').Append(i).Append(",1,").Append(i % 2).Append('\n');
        }

        var e = Assert.Throws<CsvTableException>(() => Analyze(csv.ToString(), "y"));

        Assert.Contains("Column 'id' has more than 100 categories", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Analyze_NotUtf8_IsRefused()
    {
        byte[] latin1 = [.. "a,b,y\n1,caf"u8, 0xE9, .. ",2\n"u8];

        var e = Assert.Throws<CsvTableException>(() => Analyze(latin1, "y"));

        Assert.Contains("not UTF-8", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Analyze_RegressionOnATextTarget_IsRefusedOnTheTaskField()
    {
        var e = Assert.Throws<CsvTableException>(() => HousePrices.Describe(HousePrices.Csv(), target: "band", task: TaskKinds.Regression));

        Assert.Equal("task", e.Field);
    }

    [Fact]
    public void Analyze_MoreRowsThanTheCap_IsRefused()
    {
        var e = Assert.Throws<CsvTableException>(() => Analyze(HousePrices.Csv(rows: 50), "price", limits: new CsvTableLimits { MaxRows = 20 }));

        Assert.Contains("more than 20 rows", e.Message, StringComparison.Ordinal);
    }
}
