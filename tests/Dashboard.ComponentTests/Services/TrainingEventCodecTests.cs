using System.Collections;
using System.Text.Json;
using Dashboard.Redis;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;

namespace Dashboard.ComponentTests.Services;

/// <summary>Training events as Redis messages: every kind crosses whole, and a message that is not one is refused, not thrown.</summary>
public sealed class TrainingEventCodecTests
{
    [Fact]
    public void Types_AllEventRecords_AreCarriedButTheLocalFeedStatusIsNot()
    {
        var events = typeof(TrainingEvent).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(TrainingEvent)) && !t.IsAbstract).ToList();

        Assert.Equal(events.Count - 1, TrainingEventCodec.Types.Count);
        Assert.DoesNotContain(nameof(LiveFeedChangedEvent), TrainingEventCodec.Types.Keys);
        Assert.Contains(nameof(EpochCompletedEvent), TrainingEventCodec.Types.Keys);
    }

    [Fact]
    public void EncodeDecode_EveryEventType_RoundTripsWithItsOrigin()
    {
        foreach (var type in TrainingEventCodec.Types.Values)
        {
            var original = (TrainingEvent)Sample(type, depth: 0)!;

            var decoded = TrainingEventCodec.Decode(TrainingEventCodec.Encode(original, "origin-1"), out var problem);

            Assert.True(decoded is not null, $"{type.Name}: {problem}");
            Assert.Equal("origin-1", decoded.Value.Origin);
            Assert.IsType(type, decoded.Value.Event);
            Assert.Equal(Json(original), Json(decoded.Value.Event));
        }
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("""{"origin":"x","type":"EpochCompletedEvent"}""")]
    [InlineData("""{"type":"RunDeletedEvent","event":{"runId":1}}""")]
    [InlineData("""{"origin":"x","type":"LiveFeedChangedEvent","event":{"connected":false}}""")]
    [InlineData("""{"origin":"x","type":"System.IO.File","event":{}}""")]
    [InlineData("""{"origin":"x","type":"EpochCompletedEvent","event":{"runId":"seven"}}""")]
    public void Decode_NotAnEventMessage_ReturnsNullWithAReason(string message)
    {
        Assert.Null(TrainingEventCodec.Decode(message, out var problem));
        Assert.False(string.IsNullOrWhiteSpace(problem));
    }

    [Fact]
    public void Encode_LocalFeedStatus_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => TrainingEventCodec.Encode(new LiveFeedChangedEvent(false), "origin"));
    }

    private static string Json(TrainingEvent trainingEvent) => JsonSerializer.Serialize(trainingEvent, trainingEvent.GetType(), JsonDefaults.Options);

    /// <summary>A value of <paramref name="type"/> with every field set to something other than its default, built from its constructor.</summary>
    private static object? Sample(Type type, int depth)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(string))
        {
            return "text";
        }

        if (underlying == typeof(int) || underlying == typeof(long) || underlying == typeof(short))
        {
            return Convert.ChangeType(7, underlying, System.Globalization.CultureInfo.InvariantCulture);
        }

        if (underlying == typeof(double) || underlying == typeof(float))
        {
            return Convert.ChangeType(0.25, underlying, System.Globalization.CultureInfo.InvariantCulture);
        }

        if (underlying == typeof(bool))
        {
            return true;
        }

        if (underlying == typeof(DateTime))
        {
            return new DateTime(2026, 12, 5, 14, 0, 0, DateTimeKind.Utc);
        }

        if (underlying.IsEnum)
        {
            return Enum.GetValues(underlying).GetValue(Enum.GetValues(underlying).Length - 1);
        }

        if (underlying.IsGenericType && typeof(IEnumerable).IsAssignableFrom(underlying))
        {
            var arguments = underlying.GetGenericArguments();
            if (arguments.Length == 2)
            {
                var dictionary = (IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(arguments))!;
                dictionary.Add(Sample(arguments[0], depth + 1)!, Sample(arguments[1], depth + 1));
                return dictionary;
            }

            var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(arguments))!;
            list.Add(Sample(arguments[0], depth + 1));
            return underlying.IsArray ? null : list;
        }

        if (underlying.IsArray)
        {
            var array = Array.CreateInstance(underlying.GetElementType()!, 1);
            array.SetValue(Sample(underlying.GetElementType()!, depth + 1), 0);
            return array;
        }

        if (depth > 4)
        {
            return null;
        }

        var constructor = underlying.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
        var parameters = constructor.GetParameters();
        return parameters.Length == 0
            ? Activator.CreateInstance(underlying)
            : constructor.Invoke([.. parameters.Select(p => Sample(p.ParameterType, depth + 1))]);
    }
}
